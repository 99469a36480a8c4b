import { Module } from '@nestjs/common';
import { ServiceKitModule } from '@platform/service-kit';
import { DECLARATION } from './service.declaration';
import { AccountClosureController } from './closure/account-closure.controller';
import { AccountClosureService } from './closure/account-closure.service';
import { CLOSURE_SETTINGS, loadClosureSettings } from './closure/closure.settings';
import { USERS_INIT } from './migrations/1764100000000-users-init';
import { ACCOUNT_CLOSURES } from './migrations/1764400000000-account-closures';
import { UserEntity } from './users/user.entity';
import { UsersController } from './users/users.controller';
import { UsersService } from './users/users.service';

@Module({
  imports: [
    ServiceKitModule.forRoot({
      ...DECLARATION,
      entities: [UserEntity],
      migrations: [USERS_INIT, ACCOUNT_CLOSURES],
    }),
  ],
  controllers: [UsersController, AccountClosureController],
  providers: [UsersService, AccountClosureService, { provide: CLOSURE_SETTINGS, useFactory: () => loadClosureSettings() }, ...DECLARATION.useCases],
})
export class AppModule {}
