import crypto from 'node:crypto';
import { Client } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { CommandType, OrderView, ReplyEnvelope } from '../../src/domain/types';
import { createLogger } from '../../src/platform/logger';
import { installRuntime } from '../../src/processes/temporal-worker';
import { workflowBundlePath } from '../../src/platform/temporal/bundle';
import { EncryptionCodec } from '../../src/platform/temporal/payload-codec';
import { workerDataConverter } from '../../src/platform/temporal/connection';
import {
  newSigningKey,
  parseSigningKey,
  parseTrustedKeys,
  SigningCodec,
} from '../../src/platform/temporal/signing-codecs';
import { SIGNERS } from '../../src/domain/provenance';
import type { Signer } from '../../src/domain/provenance';
import { waitFor } from '../../src/platform/wait';
import { temporalBinary } from '../../tooling/stack/binaries';
import { TEMPORAL_DYNAMIC_CONFIG } from '../../tooling/stack/temporal';
import {
  CustomerIdKey,
  ORDER_WORKFLOW_TYPE,
  orderStateQuery,
  OrderProgressAtKey,
  OrderStatusKey,
  OrderTotalCentsKey,
  workflowIdFor,
} from '../../workflows/definitions';
import type { OrderWorkflowSettings } from '../../workflows/order-input';
import { testConfig, uniqueId } from './env';
import { ScriptedServices, testOrder } from './scripted-services';
import type { Script } from './scripted-services';

/** Settings in milliseconds, so that every path plays out in about a second. */
export const SETTINGS: OrderWorkflowSettings = {
  stepTimeoutMs: 1_000,
  stepMaxSends: 3,
  duplicateWindowMs: 60_000,
  compensationRounds: 1,
  loyaltyRetryMs: 200,
};

const failureConverterPath = require.resolve('../../src/platform/temporal/failure-converter');

/** A codec that sends as it is told and reads through `reader`. */
const sendingAs = (encode: (p: Payload[]) => Promise<Payload[]>, reader: PayloadCodec) => ({
  payloadCodecs: [{ encode, decode: (p: Payload[]) => reader.decode(p) }],
  failureConverterPath,
});

/**
 * The order workflows on their own: a real Temporal dev server (the Temporal CLI the stack builds),
 * one worker with the real workflow bundle and the worker's data converter, and scripted services in
 * place of the activities. Clients that sign as the API, the reply bridge and the reconciler do, and
 * clients that send as Temporal's own tools can: through the codec server (encrypted, unsigned), in
 * clear, under a key the worker does not have, or as bytes that no key opens.
 */
export class WorkflowBench {
  readonly taskQueue = uniqueId('workflow-tests');
  readonly services = new ScriptedServices(() => this.bridgeClient);
  env!: TestWorkflowEnvironment;
  /** Encrypts and signs as the API does (starts, resolves). */
  client!: Client;
  /** Signs as the reply bridge: the scripted services answer through it. */
  bridgeClient!: Client;
  /** Signs as the reconciler (cleanups). */
  reconcilerClient!: Client;
  /** Encrypts with the worker's key and signs nothing: what the codec server's encode makes. */
  operatorClient!: Client;
  /** Sends without encrypting: what the Temporal CLI or UI sends without the codec server. */
  clearClient!: Client;
  /** Encrypts under a key id the worker does not know. */
  unknownKeyClient!: Client;
  /** Sends encrypted payloads cut short: they fail authentication. */
  truncatingClient!: Client;
  private worker!: Worker;
  private running!: Promise<void>;

  async start(): Promise<void> {
    const config = testConfig();
    // The SDK's and the workflows' log lines go through our logger, at the tests' level (quiet).
    installRuntime(createLogger('workflow-tests', config.logLevel), config.logLevel);
    const bin = await temporalBinary(config.stack.binCacheDir, (l) =>
      process.stderr.write(`[workflow tests] ${l}\n`),
    );
    const key = { id: 'test', key: crypto.randomBytes(32) };
    const codec = new EncryptionCodec([key]);
    const keys = Object.fromEntries(SIGNERS.map((s) => [s, newSigningKey(s, 'test')])) as Record<
      Signer,
      ReturnType<typeof newSigningKey>
    >;
    const signing = (signer: Signer) => ({
      payloadCodecs: [
        new SigningCodec(parseSigningKey(keys[signer].signingKey, signer, 'test key')),
        codec,
      ],
      failureConverterPath,
    });
    const dataConverter = signing('api');
    this.env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: bin },
        searchAttributes: [OrderStatusKey, CustomerIdKey, OrderTotalCentsKey, OrderProgressAtKey],
        extraArgs: Object.entries(TEMPORAL_DYNAMIC_CONFIG).flatMap(([k, v]) => [
          '--dynamic-config-value',
          `${k}=${JSON.stringify(v)}`,
        ]),
      },
      client: { dataConverter },
    });
    this.client = this.env.client;
    const other = (dc: ReturnType<typeof sendingAs>) =>
      new Client({
        connection: this.env.connection,
        namespace: this.env.namespace ?? 'default',
        dataConverter: dc,
      });
    this.bridgeClient = other(signing('reply-bridge'));
    this.reconcilerClient = other(signing('reconciler'));
    this.operatorClient = other({ payloadCodecs: [codec], failureConverterPath });
    this.clearClient = other(sendingAs(async (p) => p, codec));
    const stranger = new EncryptionCodec([{ id: 'not-the-workers', key: crypto.randomBytes(32) }]);
    this.unknownKeyClient = other(sendingAs((p) => stranger.encode(p), codec));
    this.truncatingClient = other(
      sendingAs(
        async (p) =>
          (await codec.encode(p)).map((e) => ({ ...e, data: e.data?.subarray(0, 20) ?? null })),
        codec,
      ),
    );
    this.worker = await Worker.create({
      connection: this.env.nativeConnection,
      taskQueue: this.taskQueue,
      workflowBundle: { codePath: await workflowBundlePath(false) },
      activities: this.services.activities(),
      // As the Temporal worker has it: signatures checked, and what it cannot decrypt or verify
      // reaches the workflow marked.
      dataConverter: workerDataConverter(
        new EncryptionCodec([key], 'mark'),
        parseTrustedKeys(SIGNERS.map((s) => keys[s].trusted).join(','), 'test keys'),
      ),
    });
    this.running = this.worker.run();
  }

  async stop(): Promise<void> {
    this.worker?.shutdown();
    await this.running;
    await this.env?.teardown();
    await this.services.settled();
  }

  /** Starts an order whose services behave as `script` says. */
  async place(
    script: Script,
    settings: Partial<OrderWorkflowSettings> = {},
  ): Promise<{ orderId: string; handle: WorkflowHandle }> {
    const orderId = uniqueId('ord');
    this.services.script(orderId, script);
    const handle = await this.client.workflow.start(ORDER_WORKFLOW_TYPE, {
      taskQueue: this.taskQueue,
      workflowId: workflowIdFor(orderId),
      args: [{ order: testOrder(orderId), settings: { ...SETTINGS, ...settings }, recorded: true }],
    });
    return { orderId, handle };
  }

  readonly result = (h: WorkflowHandle) => h.result() as Promise<OrderView>;
  readonly stateOf = (h: WorkflowHandle) => h.query(orderStateQuery);

  /** Waits until the service got the nth send of a command of this type. */
  readonly sent = (orderId: string, type: CommandType, nth = 1) =>
    waitFor(`send ${nth} of ${type} for ${orderId}`, () =>
      this.services.sends(orderId).filter((s) => s.type === type).length >= nth
        ? this.services.sends(orderId).filter((s) => s.type === type)[nth - 1]
        : undefined,
    );

  readonly waitForStatus = (h: WorkflowHandle, status: OrderView['status']) =>
    waitFor(`order ${h.workflowId} to be ${status}`, async () =>
      (await this.stateOf(h)).status === status ? true : undefined,
    );

  /** Waits until the workflow has handled every event so far (a signal just sent, say). */
  async handledSoFar(h: WorkflowHandle): Promise<void> {
    const before = (await h.fetchHistory()).events?.length ?? 0;
    await waitFor('the signal to be handled in a workflow task', async () => {
      const events = (await h.fetchHistory()).events ?? [];
      return events.slice(before - 1).some((e) => e.workflowTaskCompletedEventAttributes)
        ? true
        : undefined;
    });
  }

  /** The workflow tasks of a run that failed: none, whatever it was sent. */
  async failedTasks(h: WorkflowHandle): Promise<number> {
    return ((await h.fetchHistory()).events ?? []).filter(
      (e) => e.workflowTaskFailedEventAttributes,
    ).length;
  }
}

export const stepStates = (v: OrderView) =>
  Object.fromEntries(Object.entries(v.steps).map(([k, s]) => [k, s.state]));

/** A charge's success that no service sent. */
export const forgedCharge = (h: WorkflowHandle, commandId: string): ReplyEnvelope => ({
  replyId: 'forged',
  commandId,
  type: 'payment.charge',
  orderId: commandId.split(':')[0]!.replace(/^order-/, ''),
  workflowId: h.workflowId,
  outcome: 'succeeded',
  result: { chargeId: 'ch_forged' },
});
