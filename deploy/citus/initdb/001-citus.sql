-- Runs once, when the node's data directory is initialised, in POSTGRES_DB.
CREATE EXTENSION IF NOT EXISTS citus;
