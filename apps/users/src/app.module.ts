import { Module } from '@nestjs/common';
import { ServiceKitModule } from '@platform/service-kit';
import { DECLARATION } from './service.declaration';
import { UsersInit1764100000000 } from './migrations/1764100000000-users-init';
import { UserEntity } from './users/user.entity';
import { UsersController } from './users/users.controller';
import { UsersService } from './users/users.service';

@Module({
  imports: [
    ServiceKitModule.forRoot({
      ...DECLARATION,
      entities: [UserEntity],
      migrations: [UsersInit1764100000000],
    }),
  ],
  controllers: [UsersController],
  providers: [UsersService],
})
export class AppModule {}
