import {
  AccountClosureRequested,
  AccountReopened,
  ReopenAccount,
  RestoreApis,
  RetireApis,
  SendClosureFailed,
  SendGoodbye,
  UserCreated,
  UserDeactivated,
  UserReactivated,
  UserRenamed,
} from '@platform/contracts';
import type { ServiceDeclaration } from '@platform/service-kit';
import { AccountClosureSaga } from './closure/account-closure.saga';
import { ReopenAccountUseCase } from './closure/reopen-account.use-case';

/** What this service publishes and consumes; the AppModule and the deployment generator read it. */
export const DECLARATION = {
  service: 'users',
  defaultPort: 3001,
  publishes: [
    UserCreated,
    UserRenamed,
    UserDeactivated,
    UserReactivated,
    AccountClosureRequested,
    AccountReopened,
    // commands of the account-closure saga
    RetireApis,
    RestoreApis,
    ReopenAccount,
    SendGoodbye,
    SendClosureFailed,
  ],
  useCases: [AccountClosureSaga, ReopenAccountUseCase],
} satisfies ServiceDeclaration;
