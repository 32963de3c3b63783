// Runs first in every npm script that executes TypeScript. Node 24 runs our .ts files directly (type stripping);
// an older Node fails with ERR_UNKNOWN_FILE_EXTENSION ".ts", which does not say what to do. Plain JavaScript on
// purpose: it must run on any Node.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(
    `Payment Manager needs Node >= 24; this is Node ${process.version}. Run:\n` +
      '  npm install --prefix .tools node@24 && export PATH="$PWD/.tools/node_modules/.bin:$PATH"\n' +
      '(scripts/dev.sh and scripts/test-all.sh do this for you.)',
  );
  process.exit(1);
}
