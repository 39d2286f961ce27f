import { expect, inject, test } from 'vitest';

test('the running Worker answers its health check', async () => {
  const response = await fetch(`${inject('serverUrl')}/v1/health`);
  expect(response.status).toBe(200);
});
