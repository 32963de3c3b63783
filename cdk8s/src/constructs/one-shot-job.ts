import { k8s } from 'cdk8s-plus-34';
import { Construct } from 'constructs';
import { localImageContainer, lockedDownContainer, lockedDownPod, type WorkloadContainerProps } from './hardening.ts';
import { appLabels } from './labels.ts';

export interface OneShotJobProps extends WorkloadContainerProps {
  /** Name of the Job. */
  name: string;
  /** app.kubernetes.io/name of the Job and its pods, by which NetworkPolicies admit them (default: the Job's name). */
  labelName?: string;
  component: string;
  /** Writable paths (emptyDir): the root file system is read-only. */
  scratch?: string[];
}

/**
 * A locked-down Job that sets something up once the service it talks to answers: it fails while that service is not
 * up yet, and the pod restarts with back-off (up to 20 times) until one run succeeds; its Complete condition is
 * what cluster:check waits for.
 */
export class OneShotJob extends Construct {
  constructor(scope: Construct, id: string, props: OneShotJobProps) {
    super(scope, id);
    const labels = appLabels(props.labelName ?? props.name, props.component);
    const scratch = (props.scratch ?? []).map((path, i) => ({ name: `scratch-${i}`, path }));
    new k8s.KubeJob(this, 'job', {
      metadata: { name: props.name, labels },
      spec: {
        backoffLimit: 20,
        template: {
          metadata: { labels },
          spec: {
            restartPolicy: 'OnFailure',
            securityContext: lockedDownPod(props.uid),
            automountServiceAccountToken: false,
            containers: [
              {
                ...localImageContainer(props.containerName, props.image, props),
                env: props.env,
                resources: props.resources,
                securityContext: lockedDownContainer(props.uid),
                ...(scratch.length ? { volumeMounts: scratch.map((v) => ({ name: v.name, mountPath: v.path })) } : {}),
              },
            ],
            ...(scratch.length ? { volumes: scratch.map((v) => ({ name: v.name, emptyDir: {} })) } : {}),
          },
        },
      },
    });
  }
}
