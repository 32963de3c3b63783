import { ApiObject, type ApiObjectMetadata } from 'cdk8s';
import type { Construct } from 'constructs';

/*
 * Typed props for the cert-manager resources we emit (cert-manager.io/v1, cert-manager v1.21). They cover exactly the
 * fields we set; the tests validate the output against the upstream CRDs vendored in deploy/crds/cert-manager-v1.21.2
 * (schema-only, and installed into the real kube-apiserver).
 */

export const CERT_MANAGER_API_VERSION = 'cert-manager.io/v1';

export interface IssuerSpec {
  /** An issuer that signs every request with the request's own key: only to bootstrap a CA. */
  selfSigned?: Record<string, never>;
  /** Signs with the CA key pair of this kubernetes.io/tls Secret (same namespace). */
  ca?: { secretName: string };
}

export interface CertificateSpec {
  secretName: string;
  issuerRef: { group: 'cert-manager.io'; kind: 'Issuer' | 'ClusterIssuer'; name: string };
  commonName?: string;
  dnsNames?: string[];
  isCA?: boolean;
  duration?: string;
  renewBefore?: string;
  privateKey?: { algorithm: 'ECDSA' | 'RSA' | 'Ed25519'; size?: number; rotationPolicy?: 'Always' | 'Never' };
  usages?: string[];
}

export class Issuer extends ApiObject {
  constructor(scope: Construct, id: string, props: { metadata: ApiObjectMetadata; spec: IssuerSpec }) {
    super(scope, id, { apiVersion: CERT_MANAGER_API_VERSION, kind: 'Issuer', ...props });
  }
}

export class Certificate extends ApiObject {
  constructor(scope: Construct, id: string, props: { metadata: ApiObjectMetadata; spec: CertificateSpec }) {
    super(scope, id, { apiVersion: CERT_MANAGER_API_VERSION, kind: 'Certificate', ...props });
  }
}
