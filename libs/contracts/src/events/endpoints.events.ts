import { IsIn, IsInt, IsString, IsUrl, IsUUID, Length, Matches, Min } from 'class-validator';
import { defineEvent, EventContract } from '../contract';

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];
export const API_STATUSES = ['active', 'deprecated', 'retired'] as const;
export type ApiStatus = (typeof API_STATUSES)[number];
/** `/orders/{id}`: starts with a slash, no spaces, no query string. */
export const PATH_PATTERN = /^\/[A-Za-z0-9\-._~{}/]*$/;
const uuid = '9f1c2a6e-3b7d-4c1e-8f20-5a6b7c8d9e01';
const owner = '4b0c3f3e-8a57-4b8e-9d6a-0c1f5f0f2a10';

export class ApiCreated {
  static readonly contract: EventContract<ApiCreated> = defineEvent(ApiCreated, {
    type: 'endpoints.api-created',
    version: 1,
    key: (e) => e.apiId,
    description: 'An API was created by its owner.',
    examples: {
      valid: { apiId: uuid, ownerId: owner, name: 'Orders', basePath: '/orders', version: 1 },
      invalid: { apiId: uuid, ownerId: owner, name: 'Orders', basePath: 'orders', version: 0 },
    },
  });

  @IsUUID() apiId!: string;
  @IsUUID() ownerId!: string;
  @IsString() @Length(1, 200) name!: string;
  @Matches(PATH_PATTERN) basePath!: string;
  /** Stream version of the API after this change. */
  @IsInt() @Min(1) version!: number;
}

export class ApiUpdated {
  static readonly contract: EventContract<ApiUpdated> = defineEvent(ApiUpdated, {
    type: 'endpoints.api-updated',
    version: 1,
    key: (e) => e.apiId,
    description: "An API's name, base path or status changed (deprecation, retirement by an account closure and restoration included).",
    examples: {
      valid: { apiId: uuid, ownerId: owner, name: 'Orders v2', basePath: '/orders', status: 'deprecated', version: 4 },
      invalid: { apiId: uuid, ownerId: owner, name: 'Orders', basePath: '/orders', status: 'archived', version: 4 },
    },
  });

  @IsUUID() apiId!: string;
  @IsUUID() ownerId!: string;
  @IsString() @Length(1, 200) name!: string;
  @Matches(PATH_PATTERN) basePath!: string;
  @IsIn(API_STATUSES) status!: ApiStatus;
  @IsInt() @Min(1) version!: number;
}

export class EndpointUpdated {
  static readonly contract: EventContract<EndpointUpdated> = defineEvent(EndpointUpdated, {
    type: 'endpoints.endpoint-updated',
    version: 1,
    key: (e) => e.apiId,
    description: 'An endpoint was added to an API or changed. Keyed by API so one API keeps its order.',
    examples: {
      valid: {
        apiId: uuid,
        ownerId: owner,
        endpointId: '0d4f3f57-6a0e-4d43-a1c2-33e1c4b1f9aa',
        method: 'GET',
        path: '/orders/{id}',
        upstreamUrl: 'http://orders.internal:8080/v1/orders',
        change: 'added',
        version: 2,
      },
      invalid: { apiId: uuid, ownerId: owner, endpointId: 'x', method: 'FETCH', path: 'orders', upstreamUrl: 'nope', change: 'added', version: 2 },
    },
  });

  @IsUUID() apiId!: string;
  @IsUUID() ownerId!: string;
  @IsUUID() endpointId!: string;
  @IsIn(HTTP_METHODS) method!: HttpMethod;
  @Matches(PATH_PATTERN) path!: string;
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] }) upstreamUrl!: string;
  @IsIn(['added', 'updated']) change!: 'added' | 'updated';
  @IsInt() @Min(1) version!: number;
}

export class EndpointRemoved {
  static readonly contract: EventContract<EndpointRemoved> = defineEvent(EndpointRemoved, {
    type: 'endpoints.endpoint-removed',
    version: 1,
    key: (e) => e.apiId,
    description: 'An endpoint was removed from an API.',
    examples: {
      valid: { apiId: uuid, ownerId: owner, endpointId: '0d4f3f57-6a0e-4d43-a1c2-33e1c4b1f9aa', method: 'GET', path: '/orders/{id}', version: 3 },
      invalid: { apiId: uuid, ownerId: owner, endpointId: '0d4f3f57-6a0e-4d43-a1c2-33e1c4b1f9aa', method: 'GET', version: 3 },
    },
  });

  @IsUUID() apiId!: string;
  @IsUUID() ownerId!: string;
  @IsUUID() endpointId!: string;
  @IsIn(HTTP_METHODS) method!: HttpMethod;
  @Matches(PATH_PATTERN) path!: string;
  @IsInt() @Min(1) version!: number;
}
