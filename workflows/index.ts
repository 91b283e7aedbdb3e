export { orderFulfillment } from './order-fulfillment';
