/** inversify service identifiers of the composition root. Only this app uses inversify. */
export const TOKENS = {
  Config: Symbol.for('msgin5g.Config'),
  Logger: Symbol.for('msgin5g.Logger'),
  Clock: Symbol.for('msgin5g.Clock'),
  RegistrationIdAllocator: Symbol.for('msgin5g.RegistrationIdAllocator'),
  DeviceAuthorizer: Symbol.for('msgin5g.DeviceAuthorizer'),
  RegistrationStore: Symbol.for('msgin5g.RegistrationStore'),
  MessageStore: Symbol.for('msgin5g.MessageStore'),
  ServerInbox: Symbol.for('msgin5g.ServerInbox'),
  ServerLink: Symbol.for('msgin5g.ServerLink'),
  DeviceLink: Symbol.for('msgin5g.DeviceLink'),
  GatewayProcedures: Symbol.for('msgin5g.GatewayProcedures'),
  Metrics: Symbol.for('msgin5g.Metrics'),
} as const;
