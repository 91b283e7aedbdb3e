import { parseTarget, RoundRobinForwarder } from './round-robin-forwarder';

/**
 * The local Temporal cluster's load balancer as a process of its own (tooling/stack/temporal-cluster.ts
 * starts it detached, like the servers): `node forwarder-process.js <listen-port> <host:port>...`.
 * Any further argument after `--` is ignored; the cluster passes its folder there, so that its pid
 * can be told from a stranger's.
 */
async function main(argv: string[]): Promise<void> {
  const args = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  const [portArg, ...targetArgs] = args;
  const port = Number(portArg);
  if (!Number.isInteger(port) || port < 1 || port > 65535 || !targetArgs.length)
    throw new Error('usage: forwarder-process <listen-port> <host:port>... [-- <tag>]');
  const targets = targetArgs.map(parseTarget);
  const say = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  const forwarder = new RoundRobinForwarder(targets, say);
  await forwarder.listen(port);
  say(`forwarding 127.0.0.1:${port} to ${targetArgs.join(', ')} (round robin, skipping refusals)`);
  const stop = () => {
    say('stopping');
    forwarder.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`forwarder: ${(err as Error).message}\n`);
  process.exit(1);
});
