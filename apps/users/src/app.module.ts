import { Module } from '@nestjs/common';
import { ServiceKitModule } from '@platform/service-kit';
import { DECLARATION } from './service.declaration';
import { USERS_INIT } from './migrations/1764100000000-users-init';
import { UserEntity } from './users/user.entity';
import { UsersController } from './users/users.controller';
import { UsersService } from './users/users.service';

@Module({
  imports: [
    ServiceKitModule.forRoot({
      ...DECLARATION,
      entities: [UserEntity],
      migrations: [USERS_INIT],
    }),
  ],
  controllers: [UsersController],
  providers: [UsersService],
})
export class AppModule {}
