/** Metadata key of `@CacheLLM()` options (internal). */
export const CACHE_LLM_METADATA = 'nestjs-llm-kit:cache-llm';
/** Metadata key of `@CacheApi()` options (internal). */
export const CACHE_API_METADATA = 'nestjs-llm-kit:cache-api';
/** Token of the resolved options (internal). */
export const RESOLVED_CACHING_OPTIONS = Symbol('nestjs-llm-kit:RESOLVED_CACHING_OPTIONS');
/** Token of the cache store (internal). */
export const LLM_CACHE_STORE = Symbol('nestjs-llm-kit:LLM_CACHE_STORE');
/** Where the probe leaves its lookup on the request (internal). */
export const CACHE_LOOKUP = Symbol('nestjs-llm-kit:cache-lookup');
