// Preload for Node clients (node --require scripts/stacks/node_bind.cjs ...):
// every TCP connection the process opens without a local address of its own
// is bound to $DG_LOCAL_ADDRESS (e.g. 127.0.0.6), so a test can tell this
// client's connections from a proxy's on 127.0.0.1. It patches
// net.Socket.prototype.connect, which tls.connect and Node's built-in fetch
// (undici, used by the openai package) go through; tests/node/client.mjs is
// used unchanged. Without DG_LOCAL_ADDRESS it does nothing.
'use strict';
const src = process.env.DG_LOCAL_ADDRESS;
if (src) {
  const net = require('node:net');
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (...args) {
    const o = args[0];
    if (o && typeof o === 'object' && !Array.isArray(o) && o.localAddress == null && o.path == null) {
      args[0] = { ...o, localAddress: src };
    }
    return connect.apply(this, args);
  };
}
