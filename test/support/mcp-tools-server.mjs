/**
 * A small MCP server for the tests, built with the official SDK's server
 * classes. The same tools over stdio (default) or, with `--http`, over
 * streamable HTTP on a free local port (it prints `{"port": N}` on stdout
 * once listening). With `--fail-start` it writes a reason on stderr and exits
 * before speaking MCP, as a misconfigured server does.
 *
 * Tools: search (two documents joined by "\n---\n", as Evalap's retrieval
 * tools return them), add, echo, fail (always throws), sleep (answers after `ms`),
 * pid (the server's process id: shows whether a connection was reused).
 */
import http from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

const text = (t) => ({ content: [{ type: 'text', text: t }] });

function toolServer() {
  const server = new McpServer({ name: 'test-tools', version: '1.0.0' });
  server.registerTool('search', { description: 'Searches the documents', inputSchema: { query: z.string() } }, async ({ query }) =>
    text(`${query}: the first document\n---\n${query}: the second document`),
  );
  server.registerTool('add', { description: 'Adds two numbers', inputSchema: { a: z.number(), b: z.number() } }, async ({ a, b }) => text(String(a + b)));
  server.registerTool('fail', { description: 'Always fails', inputSchema: {} }, async () => {
    throw new Error('the tool broke');
  });
  server.registerTool('sleep', { description: 'Answers after ms milliseconds', inputSchema: { ms: z.number() } }, async ({ ms }) => {
    await new Promise((r) => setTimeout(r, ms));
    return text('awake');
  });
  server.registerTool('echo', { description: 'Returns its text', inputSchema: { text: z.string() } }, async ({ text: t }) => text(t));
  server.registerTool('pid', { description: 'The server process id', inputSchema: {} }, async () => text(String(process.pid)));
  return server;
}

if (process.argv.includes('--fail-start')) {
  process.stderr.write('cannot start: TOOLS_CONFIG is missing\n');
  process.exit(3);
}

if (process.argv.includes('--http')) {
  // Stateless: a server and a transport per request, as the SDK documents for servers that keep no session.
  const httpServer = http.createServer(async (req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const server = toolServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res);
  });
  httpServer.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: httpServer.address().port })}\n`));
  process.on('SIGTERM', () => httpServer.close(() => process.exit(0)));
} else {
  await toolServer().connect(new StdioServerTransport());
}
