import type { Pool } from 'pg';
import { TERMINAL_STATUSES } from '../../src/domain/types';
import type { OrderStatus, StepName, StepView } from '../../src/domain/types';
import type { CarrierLedger } from '../../src/services/shipping/fake-carrier';
import type { PaymentLedger } from '../../src/services/payment/fake-payment';

/**
 * What must hold after a chaos run, read only from the provider ledgers and the databases (never from
 * logs): every accepted order ended, nothing was lost or invented, each effect happened once, every
 * compensation matches a forward step, stock and money add up, dead letters are explained.
 */

export interface AcceptedOrder {
  orderId: string;
  customerId: string;
  totalCents: number;
  items: { sku: string; quantity: number }[];
  /** When the API accepted it (ms since the epoch). */
  acceptedAt: number;
}

export interface FaultRecord {
  /** The fault's kind, as listed in the report (e.g. `nats-kill`). */
  kind: string;
  /** What exactly was done, e.g. `SIGKILL payment at service.before-commit (3rd)`. */
  detail: string;
  startedAt: number;
  endedAt: number;
}

export interface CampaignRecord {
  /** Every order id, SKU and customer of the run starts with this. */
  runId: string;
  startedAt: Date;
  accepted: Map<string, AcceptedOrder>;
  initialStock: Map<string, number>;
  /** Markers carried by the poison messages the run injected: a dead letter holding one is explained. */
  poisonMarkers: string[];
  faults: FaultRecord[];
}

export interface Ledgers {
  payment: PaymentLedger;
  carrier: CarrierLedger;
}

export interface Violation {
  invariant: string;
  orderId?: string;
  detail: string;
  /** The fault that came last before (or during) the order's life. */
  fault?: string;
}

const ENDED: readonly OrderStatus[] = TERMINAL_STATUSES;

interface OrderRow {
  order_id: string;
  status: OrderStatus;
  total_cents: number;
  failure_reason: string | null;
  steps: Record<StepName, StepView> | null;
  updated_at: Date;
}

/** The ledgers as the fake providers serve them (`GET /_control/ledger`). */
export async function fetchLedgers(paymentUrl: string, carrierUrl: string): Promise<Ledgers> {
  const get = async <L>(url: string): Promise<L> => {
    const res = await fetch(`${url}/_control/ledger`, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`GET ${url}/_control/ledger answered ${res.status}`);
    return ((await res.json()) as { ledger: L }).ledger;
  };
  return { payment: await get(paymentUrl), carrier: await get(carrierUrl) };
}

/** The fault that preceded an order: the last one started before the order last changed. */
export function faultBefore(
  faults: FaultRecord[],
  from: number,
  until: number,
): FaultRecord | undefined {
  const during = faults.filter((f) => f.startedAt <= until && f.endedAt >= from);
  if (during.length) return during[during.length - 1];
  return faults.filter((f) => f.startedAt <= from).pop();
}

const countBy = <T>(xs: T[], key: (x: T) => string) => {
  const m = new Map<string, T[]>();
  for (const x of xs) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
  return m;
};

export async function checkInvariants(
  pool: Pool,
  ledgers: Ledgers,
  run: CampaignRecord,
): Promise<Violation[]> {
  const violations: Violation[] = [];
  const prefix = run.runId;
  const ours = (id: string) => id.startsWith(prefix);
  const orderRows = new Map(
    (
      await pool.query<OrderRow>(
        `SELECT order_id, status, total_cents, failure_reason, steps, updated_at
         FROM app.orders WHERE starts_with(order_id, $1)`,
        [prefix],
      )
    ).rows.map((r) => [r.order_id, r]),
  );
  const add = (invariant: string, detail: string, orderId?: string) => {
    const accepted = orderId ? run.accepted.get(orderId) : undefined;
    const row = orderId ? orderRows.get(orderId) : undefined;
    const fault = accepted
      ? faultBefore(run.faults, accepted.acceptedAt, row?.updated_at.getTime() ?? Date.now())
      : run.faults[run.faults.length - 1];
    violations.push({
      invariant,
      detail,
      ...(orderId ? { orderId } : {}),
      ...(fault ? { fault: `${fault.kind}: ${fault.detail}` } : {}),
    });
  };

  // Every accepted order ended, or waits for an operator with a reason; none appeared unasked.
  for (const o of run.accepted.values()) {
    const row = orderRows.get(o.orderId);
    if (!row) {
      add('order-lost', 'accepted by the API but absent from the orders table', o.orderId);
      continue;
    }
    if (row.status === 'NEEDS_ATTENTION') {
      const reason =
        row.failure_reason ??
        Object.values(row.steps ?? {}).find((s) => s.detail)?.detail ??
        undefined;
      if (!reason) add('order-unexplained', 'NEEDS_ATTENTION without a reason', o.orderId);
    } else if (!ENDED.includes(row.status)) {
      add('order-not-ended', `still ${row.status}`, o.orderId);
    } else if (row.total_cents !== o.totalCents) {
      add('order-altered', `total ${row.total_cents}, placed ${o.totalCents}`, o.orderId);
    }
  }
  for (const id of orderRows.keys()) {
    if (!run.accepted.has(id)) add('order-invented', 'in the orders table, never accepted', id);
  }

  // The payment provider: one charge per completed order, one refund per compensated charge.
  const charges = ledgers.payment.charges.filter((c) => ours(c.orderId));
  const chargeById = new Map(ledgers.payment.charges.map((c) => [c.chargeId, c]));
  const refunds = ledgers.payment.refunds.filter((r) => {
    const c = chargeById.get(r.chargeId);
    if (!c) add('orphan-refund', `refund ${r.refundId} of unknown charge ${r.chargeId}`);
    return c !== undefined && ours(c.orderId);
  });
  const chargesByOrder = countBy(charges, (c) => c.orderId);
  const refundsByCharge = countBy(refunds, (r) => r.chargeId);
  // The carrier: one shipment per completed order, cancelled otherwise.
  const shipmentsByOrder = countBy(
    ledgers.carrier.shipments.filter((s) => ours(s.orderId)),
    (s) => s.orderId,
  );
  const shipmentIds = new Set(ledgers.carrier.shipments.map((s) => s.shipmentId));
  for (const c of ledgers.carrier.cancellations) {
    if (!shipmentIds.has(c.shipmentId))
      add('orphan-cancellation', `cancellation of unknown shipment ${c.shipmentId}`);
  }
  // Loyalty: points credited once per completed order, reversed once otherwise.
  const ledgerRows = (
    await pool.query<{ order_id: string; customer_id: string; kind: string; points: number }>(
      `SELECT order_id, customer_id, kind, points FROM loyalty.ledger WHERE starts_with(order_id, $1)`,
      [prefix],
    )
  ).rows;
  const pointsByOrder = countBy(ledgerRows, (r) => r.order_id);
  // Inventory: what each order holds, by state.
  const reservations = (
    await pool.query<{ order_id: string; sku: string; quantity: number; state: string }>(
      `SELECT order_id, sku, quantity, state FROM inventory.reservations WHERE starts_with(order_id, $1)`,
      [prefix],
    )
  ).rows;
  const reservationsByOrder = countBy(reservations, (r) => r.order_id);

  // What the services recorded of the providers' effects: every charge and shipment by its id.
  const recorded = new Set(
    (
      await pool.query<{ id: string }>(
        `SELECT charge_id AS id FROM payment.charges WHERE starts_with(order_id, $1) AND charge_id IS NOT NULL
         UNION ALL
         SELECT shipment_id FROM shipping.shipments WHERE starts_with(order_id, $1) AND shipment_id IS NOT NULL`,
        [prefix],
      )
    ).rows.map((r) => r.id),
  );

  for (const id of new Set([...chargesByOrder.keys(), ...shipmentsByOrder.keys()])) {
    if (!run.accepted.has(id))
      add('effect-invented', 'a provider effect for an order never accepted', id);
  }

  // Effects are checked for ended orders only: an order still running may rightly hold any of them.
  const open = [...run.accepted.values()].filter(
    (o) => !ENDED.includes(orderRows.get(o.orderId)?.status ?? 'PENDING'),
  ).length;
  for (const o of run.accepted.values()) {
    const row = orderRows.get(o.orderId);
    if (!row || !ENDED.includes(row.status)) continue;
    const completed = row.status === 'COMPLETED';
    const ch = chargesByOrder.get(o.orderId) ?? [];
    const sh = shipmentsByOrder.get(o.orderId) ?? [];
    const pts = pointsByOrder.get(o.orderId) ?? [];
    const res = reservationsByOrder.get(o.orderId) ?? [];
    if (ch.length > 1) add('charge-twice', `${ch.length} charges`, o.orderId);
    // An effect no table records is one the reconciler cannot see, nor an operator find.
    for (const id of [...ch.map((c) => c.chargeId), ...sh.map((x) => x.shipmentId)])
      if (!recorded.has(id)) add('effect-unrecorded', `${id} is in no service's table`, o.orderId);
    for (const c of ch) {
      const rf = refundsByCharge.get(c.chargeId) ?? [];
      if (rf.length > 1) add('refund-twice', `${rf.length} refunds of ${c.chargeId}`, o.orderId);
      if (completed && rf.length)
        add('refund-of-completed', `charge ${c.chargeId} refunded`, o.orderId);
      if (!completed && rf.length === 0)
        add('charge-not-refunded', `${row.status} but charge ${c.chargeId} stands`, o.orderId);
      if (c.amountCents !== o.totalCents)
        add('charge-amount', `charged ${c.amountCents}, total ${o.totalCents}`, o.orderId);
      for (const r of rf)
        if (r.amountCents !== c.amountCents)
          add('refund-amount', `refunded ${r.amountCents} of ${c.amountCents}`, o.orderId);
    }
    if (sh.length > 1) add('shipment-twice', `${sh.length} shipments`, o.orderId);
    const awards = pts.filter((p) => p.kind === 'award');
    const reverses = pts.filter((p) => p.kind === 'reverse' && p.points !== 0);
    const net = pts.reduce((n, p) => n + p.points, 0);
    if (reverses.length && !awards.length)
      add('orphan-reverse', 'points reversed that were never credited', o.orderId);
    if (completed) {
      if (ch.length !== 1) add('completed-without-charge', `${ch.length} charges`, o.orderId);
      if (sh.filter((s) => !s.cancelled).length !== 1)
        add(
          'completed-shipment',
          `${sh.filter((s) => !s.cancelled).length} live shipments`,
          o.orderId,
        );
      if (net !== Math.floor(o.totalCents / 100))
        add('points', `net ${net} points, expected ${Math.floor(o.totalCents / 100)}`, o.orderId);
      const committed = res.filter((r) => r.state === 'committed');
      const want = new Map<string, number>();
      for (const i of o.items) want.set(i.sku, (want.get(i.sku) ?? 0) + i.quantity);
      const got = new Map(committed.map((r) => [r.sku, r.quantity]));
      for (const [sku, q] of want)
        if (got.get(sku) !== q)
          add('stock-commit', `${sku}: committed ${got.get(sku) ?? 0}, ordered ${q}`, o.orderId);
      if (res.length !== committed.length)
        add('stock-commit', 'a reservation of a completed order is not committed', o.orderId);
    } else {
      if (sh.some((s) => !s.cancelled))
        add('shipment-not-cancelled', `${row.status} with a live shipment`, o.orderId);
      if (net !== 0) add('points', `${row.status} with ${net} points left`, o.orderId);
      if (res.some((r) => r.state !== 'released'))
        add('stock-not-released', `${row.status} still holds stock`, o.orderId);
    }
  }

  // Stock and money add up only once every order has ended (NEEDS_ATTENTION ones hold what they hold).
  if (open > 0) return violations;

  // Stock conservation per SKU: initial − committed = available + reserved, never negative.
  const stock = new Map(
    (
      await pool.query<{ sku: string; available: number; reserved: number }>(
        `SELECT sku, available, reserved FROM inventory.stock WHERE starts_with(sku, $1)`,
        [prefix],
      )
    ).rows.map((r) => [r.sku, r]),
  );
  for (const [sku, initial] of run.initialStock) {
    const s = stock.get(sku);
    if (!s) {
      add('stock-lost', `${sku} vanished`);
      continue;
    }
    const ofSku = reservations.filter((r) => r.sku === sku);
    const committed = ofSku
      .filter((r) => r.state === 'committed')
      .reduce((n, r) => n + r.quantity, 0);
    const held = ofSku.filter((r) => r.state === 'reserved').reduce((n, r) => n + r.quantity, 0);
    const completedQty = [...run.accepted.values()]
      .filter((o) => orderRows.get(o.orderId)?.status === 'COMPLETED')
      .flatMap((o) => o.items)
      .filter((i) => i.sku === sku)
      .reduce((n, i) => n + i.quantity, 0);
    if (s.available < 0 || s.reserved < 0) add('stock-negative', `${sku}: ${JSON.stringify(s)}`);
    if (committed !== completedQty)
      add(
        'stock-conservation',
        `${sku}: ${committed} committed, completed orders took ${completedQty}`,
      );
    if (s.available + s.reserved + committed !== initial)
      add(
        'stock-conservation',
        `${sku}: available ${s.available} + reserved ${s.reserved} + committed ${committed} ≠ initial ${initial}`,
      );
    if (s.reserved !== held)
      add('stock-conservation', `${sku}: reserved ${s.reserved}, held ${held}`);
  }

  // Money: charges − refunds = the totals of completed orders.
  const charged = charges.reduce((n, c) => n + c.amountCents, 0);
  const refunded = refunds.reduce((n, r) => n + r.amountCents, 0);
  const completedTotal = [...run.accepted.values()]
    .filter((o) => orderRows.get(o.orderId)?.status === 'COMPLETED')
    .reduce((n, o) => n + o.totalCents, 0);
  if (charged - refunded !== completedTotal)
    add('money', `charged ${charged} − refunded ${refunded} ≠ completed totals ${completedTotal}`);

  // Dead letters: each is a poison message the run injected, and none belongs to a completed order.
  const deadLetters = (
    await pool.query<{
      id: number;
      order_id: string | null;
      payload: string;
      error: string;
      stream: string;
    }>(
      `SELECT id, order_id, payload, error, stream FROM app.dead_letters
       WHERE first_seen >= $1 OR starts_with(coalesce(order_id, ''), $2) OR strpos(payload, $2) > 0`,
      [run.startedAt, prefix],
    )
  ).rows;
  for (const d of deadLetters) {
    const poison = run.poisonMarkers.some((m) => d.payload.includes(m));
    if (!poison)
      add(
        'dead-letter-unexplained',
        `dead letter ${d.id} on ${d.stream}: ${d.error.slice(0, 160)}`,
        d.order_id && ours(d.order_id) ? d.order_id : undefined,
      );
    if (d.order_id && orderRows.get(d.order_id)?.status === 'COMPLETED')
      add(
        'dead-letter-of-completed',
        `dead letter ${d.id} belongs to a completed order`,
        d.order_id,
      );
  }
  return violations;
}
