import { warmUp } from '../../runner/warm-up.js';

const servers = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;

describe('a worker\'s warm-up', () => {
  test('runs an answer task end to end and leaves no server or connection behind', async () => {
    const before = { servers: servers(), sockets: sockets() };
    expect(await warmUp()).toBe(true);
    // Closing is asynchronous: give the handles a moment to go.
    for (let i = 0; i < 50 && (servers() > before.servers || sockets() > before.sockets); i++) await new Promise((r) => setTimeout(r, 10));
    expect(servers()).toBe(before.servers);
    expect(sockets()).toBe(before.sockets);
  });
});
