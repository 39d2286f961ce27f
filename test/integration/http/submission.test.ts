import { expect, it } from 'vitest';
import { AUTH, api, fixtures } from '../../helpers';

// Browsers write boundaries with capitals ("----WebKitFormBoundary…"), and a boundary is case-sensitive.
it('reads a multipart body whose boundary has capitals, as browsers send it', async () => {
  const boundary = '----WebKitFormBoundaryX7aBcDeFgHiJkLmN';
  const encoder = new TextEncoder();
  const head = encoder.encode(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="dot.png"\r\nContent-Type: image/png\r\n\r\n`,
  );
  const tail = encoder.encode(`\r\n--${boundary}\r\nContent-Disposition: form-data; name="mode"\r\n\r\nsize\r\n--${boundary}--\r\n`);
  const body = new Uint8Array(head.byteLength + fixtures.alphaPng.byteLength + tail.byteLength);
  body.set(head);
  body.set(fixtures.alphaPng, head.byteLength);
  body.set(tail, head.byteLength + fixtures.alphaPng.byteLength);

  const response = await api('/v1/compress', {
    method: 'POST',
    headers: { ...AUTH, 'Content-Type': `multipart/form-data; boundary=${boundary}` },
    body,
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('Content-Disposition')).toBe('attachment; filename="dot.png"');
  expect(Number(response.headers.get('X-Original-Size'))).toBe(fixtures.alphaPng.byteLength);
});
