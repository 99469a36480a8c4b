import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { TEMPLATE_CHANNELS, TEMPLATE_NAME_PATTERN, type TemplateChannel } from '@platform/contracts';
import { IsIn, IsOptional, IsString, Length, Matches } from 'class-validator';

export class CreateTemplateDto {
  @ApiProperty({ example: 'welcome', pattern: TEMPLATE_NAME_PATTERN.source }) @Matches(TEMPLATE_NAME_PATTERN) name!: string;
  @ApiProperty({ enum: TEMPLATE_CHANNELS }) @IsIn(TEMPLATE_CHANNELS) channel!: TemplateChannel;
  @ApiProperty({ example: 'Welcome, {{displayName}}' }) @IsString() @Length(1, 200) subject!: string;
  @ApiProperty({ example: 'Hello {{displayName}}, your account {{email}} is ready.' }) @IsString() @Length(1, 10_000) body!: string;
}

export class UpdateTemplateDto {
  @ApiPropertyOptional({ enum: TEMPLATE_CHANNELS }) @IsOptional() @IsIn(TEMPLATE_CHANNELS) channel?: TemplateChannel;
  @ApiPropertyOptional() @IsOptional() @IsString() @Length(1, 200) subject?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @Length(1, 10_000) body?: string;
}

export class TemplateView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: TEMPLATE_CHANNELS }) channel!: TemplateChannel;
  @ApiProperty() subject!: string;
  @ApiProperty() body!: string;
  @ApiProperty() revision!: number;
  @ApiProperty() updatedAt!: string;
}
