/**
 * What a cgroup v2 path says about a workload: container id (docker, containerd/CRI, podman), Kubernetes pod
 * uid and QoS class (kubepods), systemd unit. Pure parsing, tested with named real-world paths.
 */

export interface CgroupIdentity {
  containerId?: string;
  podUid?: string;
  qosClass?: 'guaranteed' | 'burstable' | 'besteffort';
  systemdUnit?: string;
}

const CONTAINER_PATTERNS = [
  /(?:docker|cri-containerd|crio|libpod)-([0-9a-f]{64})\.scope/,
  /\/(?:docker|containerd|crio)\/([0-9a-f]{64})(?:\/|$)/,
  /\/kubepods[^/]*\/(?:[^/]+\/)*pod[0-9a-f_-]{36}\/([0-9a-f]{64})(?:\/|$)/,
];

export function parseCgroupPath(path: string): CgroupIdentity {
  const out: CgroupIdentity = {};
  for (const re of CONTAINER_PATTERNS) {
    const m = re.exec(path);
    if (m?.[1]) {
      out.containerId = m[1];
      break;
    }
  }
  const pod = /pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})/.exec(path);
  if (pod?.[1]) out.podUid = pod[1].replaceAll('_', '-');
  const qos = /kubepods[-/](burstable|besteffort)/.exec(path);
  if (out.podUid) out.qosClass = qos?.[1] === 'burstable' ? 'burstable' : qos?.[1] === 'besteffort' ? 'besteffort' : 'guaranteed';
  // The innermost unit that is a service (not a scope or slice), e.g. nginx.service.
  const units = path.split('/').filter((p) => p.endsWith('.service'));
  if (units.length) out.systemdUnit = units[units.length - 1];
  return out;
}

/** A Deployment's name from its pod's name (drops the ReplicaSet hash and pod suffix). */
export function workloadFromPodName(pod: string): { name: string; kind: 'Deployment' | 'StatefulSet' | 'Pod' } {
  const deploy = /^(.+)-[a-z0-9]{8,10}-[a-z0-9]{5}$/.exec(pod);
  if (deploy?.[1]) return { name: deploy[1], kind: 'Deployment' };
  const sts = /^(.+)-\d+$/.exec(pod);
  if (sts?.[1]) return { name: sts[1], kind: 'StatefulSet' };
  return { name: pod, kind: 'Pod' };
}
