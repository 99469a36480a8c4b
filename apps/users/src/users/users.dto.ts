import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { DEACTIVATION_REASONS, type DeactivationReason } from '@platform/contracts';
import { IsEmail, IsIn, IsOptional, IsString, Length } from 'class-validator';
import type { UserStatus } from './user';

export class RegisterUserDto {
  @ApiProperty({ example: 'ada@example.com' }) @IsEmail() email!: string;
  @ApiProperty({ example: 'Ada Lovelace', minLength: 1, maxLength: 200 }) @IsString() @Length(1, 200) displayName!: string;
}

export class RenameUserDto {
  @ApiProperty({ example: 'Countess Lovelace', minLength: 1, maxLength: 200 }) @IsString() @Length(1, 200) displayName!: string;
}

export class DeactivateUserDto {
  @ApiProperty({ enum: DEACTIVATION_REASONS }) @IsIn(DEACTIVATION_REASONS) reason!: DeactivationReason;
  @ApiPropertyOptional({ maxLength: 500 }) @IsOptional() @IsString() @Length(0, 500) note?: string;
}

export class UserView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() email!: string;
  @ApiProperty() displayName!: string;
  @ApiProperty({ enum: ['active', 'deactivated'] }) status!: UserStatus;
  @ApiProperty() createdAt!: string;
  @ApiProperty() updatedAt!: string;
}
