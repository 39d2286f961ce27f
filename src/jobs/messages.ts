/** Queue messages carry ids only: images travel through R2, state lives in Durable Objects. */
export interface JobMessage {
  jobId: string;
}

export interface WebhookMessage {
  kind: 'job' | 'batch';
  id: string;
  deliveryId: string;
}
