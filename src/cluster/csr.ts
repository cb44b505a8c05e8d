/**
 * Kubernetes CertificateSigningRequests: reading the PKCS#10 subject and the rule deciding which
 * pending CSRs this tool may approve after a revive.
 *
 * Approval rule (conservative; modelled on OpenShift's cluster-machine-approver and the OpenShift
 * docs "Approving the certificate signing requests for your machines"). A CSR is approved only if
 * ALL hold:
 *  1. it is pending (no Approved / Denied / Failed condition);
 *  2. its PKCS#10 subject is exactly CN=`system:node:<node>` with O=`system:nodes` (and no other
 *     organisation), `<node>` being one of the nodes the caller named;
 *  3. and it is one of the two kubelet flows:
 *     a. kubelet client certificate (`signerName: kubernetes.io/kube-apiserver-client-kubelet`,
 *        usages ⊆ {digital signature, key encipherment, client auth} and including client auth),
 *        requested either by that node itself (`spec.username: system:node:<node>`, groups include
 *        `system:nodes` and `system:authenticated`) or by the node bootstrapper
 *        (`system:serviceaccount:openshift-machine-config-operator:node-bootstrapper`, groups include
 *        `system:serviceaccounts:openshift-machine-config-operator`);
 *     b. kubelet serving certificate (`signerName: kubernetes.io/kubelet-serving`, usages ⊆
 *        {digital signature, key encipherment, server auth} and including server auth), requested
 *        by that node itself (`spec.username` equal to the subject CN, groups include `system:nodes`
 *        and `system:authenticated`).
 * Anything else — other signers, other users, mismatched CN/username, unparsable requests — is
 * never approved.
 */

export const NODE_BOOTSTRAPPER = 'system:serviceaccount:openshift-machine-config-operator:node-bootstrapper';
export const NODE_BOOTSTRAPPER_GROUP = 'system:serviceaccounts:openshift-machine-config-operator';
export const SIGNER_KUBELET_CLIENT = 'kubernetes.io/kube-apiserver-client-kubelet';
export const SIGNER_KUBELET_SERVING = 'kubernetes.io/kubelet-serving';
const NODE_PREFIX = 'system:node:';
const NODES_GROUP = 'system:nodes';

/** Subject attributes we care about. */
export interface CsrSubject {
  commonName: string[];
  organization: string[];
}

/** The parts of a CertificateSigningRequest (certificates.k8s.io/v1) that `oc get csr -o json` prints. */
export interface CsrObject {
  metadata: { name: string; creationTimestamp?: string };
  spec: {
    request: string;
    signerName?: string;
    username?: string;
    groups?: string[];
    usages?: string[];
  };
  status?: { conditions?: { type: string; status?: string }[]; certificate?: string };
}

class DerReader {
  constructor(
    private readonly buf: Buffer,
    private pos = 0,
    private readonly end = buf.length,
  ) {}
  get done(): boolean {
    return this.pos >= this.end;
  }
  next(): { tag: number; body: Buffer } {
    if (this.pos + 2 > this.end) throw new Error('truncated DER');
    const tag = this.buf[this.pos++]!;
    let len = this.buf[this.pos++]!;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 4 || this.pos + n > this.end) throw new Error('bad DER length');
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + this.buf[this.pos++]!;
    }
    if (this.pos + len > this.end) throw new Error('truncated DER');
    const body = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return { tag, body };
  }
}

const OID_CN = '2.5.4.3';
const OID_O = '2.5.4.10';

function decodeOid(b: Buffer): string {
  if (b.length === 0) throw new Error('empty OID');
  const parts = [Math.floor(b[0]! / 40), b[0]! % 40];
  let v = 0;
  for (let i = 1; i < b.length; i++) {
    v = v * 128 + (b[i]! & 0x7f);
    if (!(b[i]! & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** Reads the subject of a PEM (or base64 of PEM, as in `spec.request`) PKCS#10 request. Throws when unparsable. */
export function parseCsrSubject(request: string): CsrSubject {
  let pem = request.trim();
  if (!pem.startsWith('-----BEGIN')) pem = Buffer.from(pem, 'base64').toString('utf8');
  const m = /-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----([\s\S]+?)-----END (?:NEW )?CERTIFICATE REQUEST-----/.exec(pem);
  if (!m) throw new Error('not a PEM certificate request');
  const der = Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
  const outer = new DerReader(der).next(); // CertificationRequest
  if (outer.tag !== 0x30) throw new Error('not a SEQUENCE');
  const info = new DerReader(outer.body).next(); // CertificationRequestInfo
  if (info.tag !== 0x30) throw new Error('not a SEQUENCE');
  const fields = new DerReader(info.body);
  const version = fields.next();
  if (version.tag !== 0x02) throw new Error('missing version');
  const name = fields.next();
  if (name.tag !== 0x30) throw new Error('missing subject');
  const subject: CsrSubject = { commonName: [], organization: [] };
  const rdns = new DerReader(name.body);
  while (!rdns.done) {
    const rdn = rdns.next();
    if (rdn.tag !== 0x31) throw new Error('bad RDN');
    const atvs = new DerReader(rdn.body);
    while (!atvs.done) {
      const atv = atvs.next();
      const r = new DerReader(atv.body);
      const oid = r.next();
      const value = r.next();
      if (oid.tag !== 0x06) throw new Error('bad attribute type');
      const text = value.body.toString('utf8');
      const id = decodeOid(oid.body);
      if (id === OID_CN) subject.commonName.push(text);
      else if (id === OID_O) subject.organization.push(text);
    }
  }
  return subject;
}

/** Whether a CSR has neither been approved, denied nor failed. */
export function isPending(csr: CsrObject): boolean {
  return !(csr.status?.conditions ?? []).some((c) => ['Approved', 'Denied', 'Failed'].includes(c.type));
}

export type CsrVerdict =
  { approve: true; node: string; kind: 'kubelet-client' | 'kubelet-client-bootstrap' | 'kubelet-serving' } | { approve: false; reason: string };

function usagesWithin(usages: string[] | undefined, allowed: string[], required: string): boolean {
  const u = usages ?? [];
  return u.includes(required) && u.every((x) => allowed.includes(x));
}

/** Applies the approval rule documented at the top of this module. */
export function judgeCsr(csr: CsrObject, nodes: ReadonlySet<string>): CsrVerdict {
  if (!isPending(csr)) return { approve: false, reason: 'not pending' };
  let subject: CsrSubject;
  try {
    subject = parseCsrSubject(csr.spec.request);
  } catch (e) {
    return { approve: false, reason: `unparsable request: ${(e as Error).message}` };
  }
  if (subject.commonName.length !== 1 || !subject.commonName[0]!.startsWith(NODE_PREFIX)) {
    return { approve: false, reason: 'subject CN is not system:node:<name>' };
  }
  const cn = subject.commonName[0]!;
  const node = cn.slice(NODE_PREFIX.length);
  if (!nodes.has(node)) return { approve: false, reason: `subject names node ${JSON.stringify(node)}, not one of ours` };
  if (subject.organization.length !== 1 || subject.organization[0] !== NODES_GROUP) {
    return { approve: false, reason: 'subject O is not exactly system:nodes' };
  }
  const groups = new Set(csr.spec.groups ?? []);
  const username = csr.spec.username ?? '';
  const signer = csr.spec.signerName ?? '';
  const fromNode = username === cn && groups.has(NODES_GROUP) && groups.has('system:authenticated');

  if (signer === SIGNER_KUBELET_CLIENT) {
    if (!usagesWithin(csr.spec.usages, ['digital signature', 'key encipherment', 'client auth'], 'client auth')) {
      return { approve: false, reason: 'usages are not those of a kubelet client certificate' };
    }
    if (fromNode) return { approve: true, node, kind: 'kubelet-client' };
    if (username === NODE_BOOTSTRAPPER && groups.has(NODE_BOOTSTRAPPER_GROUP)) {
      return { approve: true, node, kind: 'kubelet-client-bootstrap' };
    }
    return { approve: false, reason: `requester ${JSON.stringify(username)} is neither the node nor the node bootstrapper` };
  }
  if (signer === SIGNER_KUBELET_SERVING) {
    if (!usagesWithin(csr.spec.usages, ['digital signature', 'key encipherment', 'server auth'], 'server auth')) {
      return { approve: false, reason: 'usages are not those of a kubelet serving certificate' };
    }
    if (fromNode) return { approve: true, node, kind: 'kubelet-serving' };
    return { approve: false, reason: `requester ${JSON.stringify(username)} is not ${cn} in group system:nodes` };
  }
  return { approve: false, reason: `signer ${JSON.stringify(signer)} is not a kubelet signer` };
}
