import { Migration } from '@mikro-orm/migrations';

export class Migration20261122045347 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create index "messages_content_fts_index" on "messages" using gin (to_tsvector('english', "content"));`);

    this.addSql(`alter table "runs" add column "pending_tool_calls" jsonb null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "messages_content_fts_index";`);

    this.addSql(`alter table "runs" drop column "pending_tool_calls";`);
  }

}
