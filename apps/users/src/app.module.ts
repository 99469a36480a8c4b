import { Module } from '@nestjs/common';
import { UserCreated, UserDeactivated, UserRenamed } from '@platform/contracts';
import { ServiceKitModule } from '@platform/service-kit';
import { UsersInit1764100000000 } from './migrations/1764100000000-users-init';
import { UserEntity } from './users/user.entity';
import { UsersController } from './users/users.controller';
import { UsersService } from './users/users.service';

export const SERVICE = { service: 'users', defaultPort: 3001 } as const;

@Module({
  imports: [
    ServiceKitModule.forRoot({
      ...SERVICE,
      entities: [UserEntity],
      migrations: [UsersInit1764100000000],
      publishes: [UserCreated, UserRenamed, UserDeactivated],
    }),
  ],
  controllers: [UsersController],
  providers: [UsersService],
})
export class AppModule {}
