/**
 * The one record a Durable Object keeps under `key`: read before any call reaches the object
 * (blockConcurrencyWhile), then held in memory and written through on every change.
 */
export class StoredRecord<T> {
  value: T | undefined;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly key: string,
  ) {
    ctx.blockConcurrencyWhile(async () => {
      this.value = await ctx.storage.get<T>(key);
    });
  }

  async put(value: T): Promise<T> {
    this.value = value;
    await this.ctx.storage.put(this.key, value);
    return value;
  }
}
