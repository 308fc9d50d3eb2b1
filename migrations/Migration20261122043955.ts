import { Migration } from '@mikro-orm/migrations';

export class Migration20261122043955 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create type "user_role" as enum ('ADMIN', 'MEMBER');`);
    this.addSql(`create type "message_role" as enum ('SYSTEM', 'USER', 'ASSISTANT', 'TOOL');`);
    this.addSql(`create type "message_status" as enum ('COMPLETE', 'INCOMPLETE');`);
    this.addSql(`create type "run_status" as enum ('QUEUED', 'IN_PROGRESS', 'REQUIRES_ACTION', 'CANCELLING', 'CANCELLED', 'FAILED', 'COMPLETED', 'INCOMPLETE');`);
    this.addSql(`create type "run_step_type" as enum ('MODEL_CALL', 'TOOL_CALL');`);
    this.addSql(`create type "run_step_status" as enum ('IN_PROGRESS', 'COMPLETED', 'FAILED', 'CANCELLED');`);
    this.addSql(`create table "users" ("id" uuid not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "email" varchar(320) not null, "role" "user_role" not null default 'MEMBER', constraint "users_pkey" primary key ("id"));`);
    this.addSql(`alter table "users" add constraint "users_email_unique" unique ("email");`);

    this.addSql(`create table "api_keys" ("id" uuid not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "user_id" uuid not null, "name" varchar(100) not null, "prefix" varchar(24) not null, "hash" varchar(64) not null, "last_used_at" timestamptz null, "revoked_at" timestamptz null, constraint "api_keys_pkey" primary key ("id"));`);
    this.addSql(`create index "api_keys_user_id_index" on "api_keys" ("user_id");`);
    this.addSql(`alter table "api_keys" add constraint "api_keys_hash_unique" unique ("hash");`);

    this.addSql(`create table "agents" ("id" uuid not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "owner_id" uuid not null, "name" varchar(200) not null, "description" text null, "instructions" text null, "model" varchar(200) not null, "temperature" double precision null, "tools" text[] not null, "version" int not null default 1, constraint "agents_pkey" primary key ("id"));`);
    this.addSql(`create index "agents_owner_id_created_at_index" on "agents" ("owner_id", "created_at");`);

    this.addSql(`create table "conversations" ("id" uuid not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "owner_id" uuid not null, "title" varchar(200) not null, "tags" text[] not null, "settings" jsonb not null, "agent_id" uuid null, "active_leaf_id" uuid null, "archived_at" timestamptz null, "version" int not null default 1, constraint "conversations_pkey" primary key ("id"));`);
    this.addSql(`create index "conversations_tags_index" on "conversations" using gin ("tags");`);
    this.addSql(`create index "conversations_owner_id_updated_at_id_index" on "conversations" ("owner_id", "updated_at", "id");`);

    this.addSql(`create table "messages" ("id" uuid not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "conversation_id" uuid not null, "parent_id" uuid null, "depth" int not null default 0, "role" "message_role" not null, "content" text not null, "reasoning" text null, "tool_calls" jsonb null, "tool_call_id" varchar(200) null, "model" varchar(200) null, "agent_id" uuid null, "run_id" uuid null, "prompt_tokens" int not null default 0, "completion_tokens" int not null default 0, "reasoning_tokens" int not null default 0, "cached_tokens" int not null default 0, "cost_usd" double precision not null default 0, "latency_ms" int null, "status" "message_status" not null default 'COMPLETE', "metadata" jsonb null, constraint "messages_pkey" primary key ("id"));`);
    this.addSql(`create index "messages_parent_id_id_index" on "messages" ("parent_id", "id");`);
    this.addSql(`create index "messages_conversation_id_created_at_index" on "messages" ("conversation_id", "created_at");`);

    this.addSql(`create table "runs" ("id" uuid not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "conversation_id" uuid not null, "owner_id" uuid not null, "agent_id" uuid null, "model" varchar(200) not null, "status" "run_status" not null default 'QUEUED', "branch_key" varchar(64) not null, "input_message_id" uuid null, "response_message_id" uuid null, "prompt_tokens" int not null default 0, "completion_tokens" int not null default 0, "reasoning_tokens" int not null default 0, "cached_tokens" int not null default 0, "cost_usd" double precision not null default 0, "time_to_first_token_ms" int null, "error" jsonb null, "options" jsonb null, "started_at" timestamptz null, "completed_at" timestamptz null, constraint "runs_pkey" primary key ("id"));`);
    this.addSql(`create index "runs_owner_id_created_at_index" on "runs" ("owner_id", "created_at");`);
    this.addSql(`create index "runs_conversation_id_created_at_index" on "runs" ("conversation_id", "created_at");`);
    this.addSql(`create unique index "runs_one_active_per_branch" on "runs" ("conversation_id", "branch_key") where "status" in ('QUEUED', 'IN_PROGRESS', 'REQUIRES_ACTION', 'CANCELLING');`);

    this.addSql(`create table "run_steps" ("id" uuid not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "run_id" uuid not null, "index" int not null, "type" "run_step_type" not null, "status" "run_step_status" not null, "model" varchar(200) null, "tool_name" varchar(200) null, "tool_call_id" varchar(200) null, "input" jsonb null, "output" jsonb null, "prompt_tokens" int not null default 0, "completion_tokens" int not null default 0, "reasoning_tokens" int not null default 0, "cached_tokens" int not null default 0, "cost_usd" double precision not null default 0, "time_to_first_token_ms" int null, "error" jsonb null, "started_at" timestamptz not null, "completed_at" timestamptz null, constraint "run_steps_pkey" primary key ("id"));`);
    this.addSql(`alter table "run_steps" add constraint "run_steps_run_id_index_unique" unique ("run_id", "index");`);

    this.addSql(`alter table "api_keys" add constraint "api_keys_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "agents" add constraint "agents_owner_id_foreign" foreign key ("owner_id") references "users" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "conversations" add constraint "conversations_owner_id_foreign" foreign key ("owner_id") references "users" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "conversations" add constraint "conversations_agent_id_foreign" foreign key ("agent_id") references "agents" ("id") on update cascade on delete set null;`);
    this.addSql(`alter table "conversations" add constraint "conversations_active_leaf_id_foreign" foreign key ("active_leaf_id") references "messages" ("id") on update cascade on delete set null;`);

    this.addSql(`alter table "messages" add constraint "messages_conversation_id_foreign" foreign key ("conversation_id") references "conversations" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "messages" add constraint "messages_parent_id_foreign" foreign key ("parent_id") references "messages" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "messages" add constraint "messages_agent_id_foreign" foreign key ("agent_id") references "agents" ("id") on update cascade on delete set null;`);
    this.addSql(`alter table "messages" add constraint "messages_run_id_foreign" foreign key ("run_id") references "runs" ("id") on update cascade on delete set null;`);

    this.addSql(`alter table "runs" add constraint "runs_conversation_id_foreign" foreign key ("conversation_id") references "conversations" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "runs" add constraint "runs_owner_id_foreign" foreign key ("owner_id") references "users" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "runs" add constraint "runs_agent_id_foreign" foreign key ("agent_id") references "agents" ("id") on update cascade on delete set null;`);
    this.addSql(`alter table "runs" add constraint "runs_input_message_id_foreign" foreign key ("input_message_id") references "messages" ("id") on update cascade on delete set null;`);
    this.addSql(`alter table "runs" add constraint "runs_response_message_id_foreign" foreign key ("response_message_id") references "messages" ("id") on update cascade on delete set null;`);

    this.addSql(`alter table "run_steps" add constraint "run_steps_run_id_foreign" foreign key ("run_id") references "runs" ("id") on update cascade on delete cascade;`);
  }

}
