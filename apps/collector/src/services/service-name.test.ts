import { describe, expect, it } from 'vitest';
import { commName, namedCgroupOf, programName, serviceNameOf, systemdServiceOf, type ServiceFacts } from './service-name';

const CID = 'c'.repeat(60) + '1234';
const packages: Record<string, string> = { '/srv/orders': 'orders-api', '/work/shop': '@shop/web' };
/** The nearest package.json above a directory, from a fixed tree. */
const packageName = (dir: string) => {
  for (let d = dir; d; d = d.slice(0, d.lastIndexOf('/'))) if (packages[d]) return packages[d];
  return undefined;
};
const argv = (cmd: string) => cmd.split(' ');

// Named fixtures: what /proc says about a process, and the service it is.
const FIXTURES: [string, ServiceFacts, string, string][] = [
  [
    'two python scripts: app',
    { argv: argv('python3 /tmp/x/app.py --port 8000'), exe: '/usr/bin/python3.11', comm: 'python3' },
    'app',
    'script',
  ],
  [
    'two python scripts: worker',
    { argv: argv('python3 -u /tmp/y/worker.py'), exe: '/usr/bin/python3.11', comm: 'python3' },
    'worker',
    'script',
  ],
  ['python -m module', { argv: argv('python3 -m http.server 8080'), comm: 'python3' }, 'http.server', 'script'],
  ['python -X opt before the script', { argv: argv('/usr/bin/python3 -X dev /srv/jobs/billing.py'), comm: 'python3' }, 'billing', 'script'],
  ['python package __main__', { argv: argv('python3 /opt/tool/__main__.py'), comm: 'python3' }, 'tool', 'script'],
  ['python -c has no script', { argv: ['python3', '-c', 'print(1)'], comm: 'python3' }, 'python3', 'program'],
  [
    'node script under a package.json',
    { argv: argv('node server.js'), cwd: '/srv/orders/src', exe: '/usr/bin/node', comm: 'node', packageName },
    'orders-api',
    'script',
  ],
  ['node script, no package.json', { argv: argv('node /opt/bots/relay.mjs'), comm: 'node', packageName }, 'relay', 'script'],
  [
    'node with --require',
    { argv: argv('node -r dotenv/config /work/shop/dist/main.js'), comm: 'node', packageName },
    '@shop/web',
    'script',
  ],
  [
    'npm run from a project (a tool in node_modules)',
    { argv: argv('node /usr/lib/node_modules/npm/bin/npm-cli.js start'), cwd: '/srv/orders', comm: 'npm start', packageName },
    'orders-api',
    'script',
  ],
  ['node -e has no script', { argv: ['node', '-e', 'x()'], comm: 'node', packageName }, 'node', 'program'],
  [
    'a title that rewrote argv (npm)',
    { argv: ['npm install prettier@3.6.2', '', ''], exe: '/usr/bin/node', comm: 'npm install pre' },
    'npm',
    'program',
  ],
  [
    'a title that rewrote argv (next-server)',
    { argv: ['next-server (v16.0.0)'], exe: '/usr/bin/node', comm: 'next-server (v1' },
    'next-server',
    'program',
  ],
  ['nginx worker title', { argv: ['nginx: worker process'], exe: '/usr/sbin/nginx', comm: 'nginx' }, 'nginx', 'program'],
  [
    'postgres backend title',
    { argv: ['postgres: sextant sextant 127.0.0.1(40000) idle'], exe: '/usr/lib/postgresql/16/bin/postgres', comm: 'postgres' },
    'postgres',
    'program',
  ],
  ['a title the comm does not follow', { argv: ['worker for queue 7'], exe: '/usr/bin/node', comm: 'MainThread' }, 'MainThread', 'comm'],
  ['java -jar', { argv: argv('java -Xmx1g -jar /opt/orders-1.4.2-SNAPSHOT.jar'), comm: 'java' }, 'orders', 'script'],
  ['java main class', { argv: argv('java -cp /opt/lib/* com.acme.Billing'), comm: 'java' }, 'Billing', 'script'],
  ['a shell script', { argv: argv('/bin/bash /usr/local/bin/backup.sh nightly'), comm: 'backup.sh' }, 'backup', 'script'],
  ['a login shell', { argv: ['-bash'], comm: 'bash' }, 'bash', 'program'],
  [
    'a plain binary',
    { argv: argv('/usr/local/bin/kube-controller-manager --leader-elect'), comm: 'kube-controller' },
    'kube-controller-manager',
    'program',
  ],
  [
    'a path with spaces and arguments is not a title',
    { argv: ['/opt/My App/bin/app-server', '--x'], comm: 'app-server' },
    'app-server',
    'program',
  ],
  ['no cmdline (kernel thread or exited): comm', { comm: 'next-server (v1' }, 'next-server', 'comm'],
  [
    'systemd service beats the program',
    { argv: argv('python3 /srv/app.py'), cgroupPath: '/system.slice/payments.service', comm: 'python3' },
    'payments',
    'systemd',
  ],
  [
    'transient systemd-run unit',
    { argv: argv('python3 /srv/app.py'), cgroupPath: '/system.slice/sextant-probe.service', comm: 'python3' },
    'sextant-probe',
    'systemd',
  ],
  [
    'user manager unit is not a service',
    { argv: argv('python3 /srv/app.py'), cgroupPath: '/user.slice/user-1000.slice/user@1000.service/init.scope', comm: 'python3' },
    'app',
    'script',
  ],
  [
    'a service in the user manager is',
    { argv: argv('node a.js'), cgroupPath: '/user.slice/user-1000.slice/user@1000.service/app.slice/syncthing.service', comm: 'node' },
    'syncthing',
    'systemd',
  ],
  [
    'session scope is not a service',
    { argv: argv('python3 /tmp/x/app.py'), cgroupPath: '/user.slice/user-0.slice/session-3.scope', comm: 'python3' },
    'app',
    'script',
  ],
  ['init.scope is not a service', { argv: argv('/sbin/init'), cgroupPath: '/init.scope', comm: 'systemd' }, 'init', 'program'],
  [
    'docker container (no name known)',
    { argv: argv('nginx -g daemon off;'), cgroupPath: `/system.slice/docker-${CID}.scope`, comm: 'nginx' },
    'container-cccccccccccc',
    'container',
  ],
  [
    'docker container with its name',
    { argv: argv('nginx'), cgroupPath: `/system.slice/docker-${CID}.scope`, containerName: 'edge-proxy', comm: 'nginx' },
    'edge-proxy',
    'container',
  ],
  [
    'Kubernetes workload first',
    {
      argv: argv('java -jar app.jar'),
      cgroupPath: `/kubepods/burstable/pod3f1c2b8e-1d2a-4c5b-9e8f-0a1b2c3d4e5f/${CID}`,
      workload: 'payments-api',
      comm: 'java',
    },
    'payments-api',
    'kubernetes',
  ],
  [
    'a cgroup someone named',
    { argv: argv('python3 /tmp/x/app.py'), cgroupPath: '/sextant-test/ledger', comm: 'python3' },
    'ledger',
    'cgroup',
  ],
  ['an LXC container cgroup', { argv: argv('/sbin/init'), cgroupPath: '/lxc.payload.build-box', comm: 'init' }, 'build-box', 'cgroup'],
  ['root cgroup says nothing', { argv: argv('python3 /tmp/x/app.py'), cgroupPath: '/', comm: 'python3' }, 'app', 'script'],
];

describe('serviceNameOf', () => {
  it.each(FIXTURES)('%s', (_name, facts, service, source) => {
    expect(serviceNameOf(facts)).toEqual({ name: service, source });
  });

  it('says nothing when nothing is known', () => {
    expect(serviceNameOf({})).toBeNull();
    expect(programName({ argv: [''] })).toBeNull();
  });
});

describe('cgroup and comm helpers', () => {
  it('reads systemd services, not logins', () => {
    expect(systemdServiceOf('/system.slice/nginx.service')).toBe('nginx');
    expect(systemdServiceOf('/system.slice/getty@tty1.service')).toBeUndefined();
    expect(systemdServiceOf('/system.slice/docker-abc.scope')).toBeUndefined();
  });
  it('names only deliberately named cgroups', () => {
    expect(namedCgroupOf('/sextant-test/orders')).toBe('orders');
    expect(namedCgroupOf('/')).toBeUndefined();
    expect(namedCgroupOf('/system.slice/cron.service')).toBeUndefined();
    expect(namedCgroupOf('/process_api/8208e8cef4e658eeb7459f095651afc0')).toBeUndefined();
    expect(namedCgroupOf('/jobs/1234')).toBeUndefined();
  });
  it('strips a process-title suffix from comm', () => {
    expect(commName('next-server (v1')).toBe('next-server');
    expect(commName('nginx')).toBe('nginx');
  });
});
