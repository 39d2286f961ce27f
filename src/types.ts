import type { Account } from './auth/keys';

export interface AppEnv {
  Bindings: Env;
  Variables: { requestId: string; account: Account };
}
