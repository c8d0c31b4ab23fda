import { describe, expect, it } from 'vitest';
import { parseCgroupPath, workloadFromPodName } from './cgroup-path';

const CID = 'a'.repeat(60) + '1234';
const POD = '3f1c2b8e-1d2a-4c5b-9e8f-0a1b2c3d4e5f';

describe('parseCgroupPath', () => {
  it('reads a systemd service', () => {
    expect(parseCgroupPath('/system.slice/nginx.service')).toEqual({ systemdUnit: 'nginx.service' });
  });
  it('reads a docker container under systemd', () => {
    expect(parseCgroupPath(`/system.slice/docker-${CID}.scope`)).toEqual({ containerId: CID });
  });
  it('reads a kubepods pod and container (systemd driver)', () => {
    const p = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD.replaceAll('-', '_')}.slice/cri-containerd-${CID}.scope`;
    expect(parseCgroupPath(p)).toEqual({ containerId: CID, podUid: POD, qosClass: 'burstable' });
  });
  it('reads a kubepods pod and container (cgroupfs driver)', () => {
    expect(parseCgroupPath(`/kubepods/besteffort/pod${POD}/${CID}`)).toEqual({ containerId: CID, podUid: POD, qosClass: 'besteffort' });
    expect(parseCgroupPath(`/kubepods/pod${POD}/${CID}`)).toMatchObject({ qosClass: 'guaranteed' });
  });
  it('says nothing about a user session', () => {
    expect(parseCgroupPath('/user.slice/user-0.slice/session-3.scope')).toEqual({});
  });
});

describe('workloadFromPodName', () => {
  it('strips ReplicaSet hash and pod suffix', () => {
    expect(workloadFromPodName('payments-api-7d9f8b6c4d-x2k9p')).toEqual({ name: 'payments-api', kind: 'Deployment' });
    expect(workloadFromPodName('kafka-2')).toEqual({ name: 'kafka', kind: 'StatefulSet' });
    expect(workloadFromPodName('debug')).toEqual({ name: 'debug', kind: 'Pod' });
  });
});
