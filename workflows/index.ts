export { orderFulfillment } from './order-fulfillment';
export { orderCleanup } from './order-cleanup';
