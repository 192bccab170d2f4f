// Which credential a /v1/live handshake carries: a token beside the protocol in
// Sec-WebSocket-Protocol, the deprecated ?key=, or none (an auth message must follow).
import { describe, expect, it } from 'vitest';
import { liveCredential } from '../../src/api/live-credentials.js';
import { HttpError } from '../../src/api/http-error.js';

describe('liveCredential', () => {
  it('takes the token from the subprotocols, before a ?key=', () => {
    expect(liveCredential('ticketpulse.live.v1, token.aaa.bbb.ccc', undefined)).toEqual({
      kind: 'token',
      token: 'aaa.bbb.ccc',
    });
    expect(liveCredential('token.t,ticketpulse.live.v1', 'tp_key')).toEqual({ kind: 'token', token: 't' });
  });

  it('refuses a token offered without the protocol (400): no protocol could be selected', () => {
    const attempt = () => liveCredential('token.aaa.bbb.ccc', undefined);
    expect(attempt).toThrow(HttpError);
    expect(attempt).toThrow('offer the subprotocol ticketpulse.live.v1 with the token');
  });

  it('falls back to ?key=, then to an auth message', () => {
    expect(liveCredential('ticketpulse.live.v1', 'tp_key')).toEqual({ kind: 'key', key: 'tp_key' });
    expect(liveCredential(undefined, undefined)).toEqual({ kind: 'message' });
    expect(liveCredential('ticketpulse.live.v1', '')).toEqual({ kind: 'message' });
  });
});
