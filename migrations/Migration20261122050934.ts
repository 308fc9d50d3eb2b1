import { Migration } from '@mikro-orm/migrations';

export class Migration20261122050934 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "context_summaries" ("id" uuid not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "conversation_id" uuid not null, "through_message_id" uuid not null, "model" varchar(200) not null, "content" text not null, "token_count" int not null, "message_count" int not null, constraint "context_summaries_pkey" primary key ("id"));`);
    this.addSql(`create index "context_summaries_through_message_id_model_index" on "context_summaries" ("through_message_id", "model");`);

    this.addSql(`alter table "context_summaries" add constraint "context_summaries_conversation_id_foreign" foreign key ("conversation_id") references "conversations" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "context_summaries" add constraint "context_summaries_through_message_id_foreign" foreign key ("through_message_id") references "messages" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "messages" add column "pinned" boolean not null default false, add column "excluded" boolean not null default false;`);

    this.addSql(`alter table "runs" add column "context_plan" jsonb null, add column "comparison_id" uuid null;`);
    this.addSql(`create index "runs_comparison_id_index" on "runs" ("comparison_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "context_summaries" cascade;`);

    this.addSql(`alter table "messages" drop column "pinned", drop column "excluded";`);

    this.addSql(`drop index "runs_comparison_id_index";`);
    this.addSql(`alter table "runs" drop column "context_plan", drop column "comparison_id";`);
  }

}
