import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { API_STATUSES, HTTP_METHODS, PATH_PATTERN, type ApiStatus, type HttpMethod } from '@platform/contracts';
import { IsIn, IsOptional, IsString, IsUrl, Length, Matches } from 'class-validator';

const URL_RULES = { require_tld: false, require_protocol: true, protocols: ['http', 'https'] };

/** The owner is the caller (the token's subject), never a field: a body naming one is refused (400). */
export class CreateApiDto {
  @ApiProperty({ example: 'Orders' }) @IsString() @Length(1, 200) name!: string;
  @ApiProperty({ example: '/orders', pattern: PATH_PATTERN.source }) @Matches(PATH_PATTERN) basePath!: string;
}

export class ChangeApiDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @Length(1, 200) name?: string;
  @ApiPropertyOptional({ pattern: PATH_PATTERN.source }) @IsOptional() @Matches(PATH_PATTERN) basePath?: string;
}

export class DeprecateApiDto {
  @ApiProperty({ example: 'v2 replaces it' }) @IsString() @Length(1, 500) reason!: string;
}

export class PlaceHoldDto {
  @ApiProperty({ example: 'legal hold: audit 2026' }) @IsString() @Length(1, 500) reason!: string;
}

export class AddEndpointDto {
  @ApiProperty({ enum: HTTP_METHODS }) @IsIn(HTTP_METHODS) method!: HttpMethod;
  @ApiProperty({ example: '/orders/{id}', pattern: PATH_PATTERN.source }) @Matches(PATH_PATTERN) path!: string;
  @ApiProperty({ example: 'http://orders.internal/v1/orders' }) @IsUrl(URL_RULES) upstreamUrl!: string;
}

export class UpdateEndpointDto {
  @ApiPropertyOptional({ enum: HTTP_METHODS }) @IsOptional() @IsIn(HTTP_METHODS) method?: HttpMethod;
  @ApiPropertyOptional({ pattern: PATH_PATTERN.source }) @IsOptional() @Matches(PATH_PATTERN) path?: string;
  @ApiPropertyOptional() @IsOptional() @IsUrl(URL_RULES) upstreamUrl?: string;
}

export class EndpointView {
  @ApiProperty({ format: 'uuid' }) endpointId!: string;
  @ApiProperty({ enum: HTTP_METHODS }) method!: HttpMethod;
  @ApiProperty() path!: string;
  @ApiProperty() upstreamUrl!: string;
}

export class ApiView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) ownerId!: string;
  @ApiProperty() name!: string;
  @ApiProperty() basePath!: string;
  @ApiProperty({ enum: API_STATUSES }) status!: ApiStatus;
  @ApiProperty({ nullable: true, type: String, description: 'Why the API is kept: it refuses retirement by an account closure.' }) retentionHold!: string | null;
  @ApiProperty({ description: 'Stream version; also the ETag.' }) version!: number;
  @ApiProperty({ type: [EndpointView] }) endpoints!: EndpointView[];
}

export class ApiSummaryView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) ownerId!: string;
  @ApiProperty() name!: string;
  @ApiProperty() basePath!: string;
  @ApiProperty({ enum: API_STATUSES }) status!: ApiStatus;
  @ApiProperty() endpointCount!: number;
  @ApiProperty() version!: number;
}

export class EndpointChangeView extends EndpointView {
  @ApiProperty({ format: 'uuid' }) apiId!: string;
  @ApiProperty({ description: "The API's stream version after the change; also the ETag." }) version!: number;
}
