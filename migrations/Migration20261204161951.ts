import { Migration } from '@mikro-orm/migrations';

export class Migration20261204161951 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "agents" add column "run_timeout_ms" int null;`);

    this.addSql(`alter table "runs" add column "heartbeat_at" timestamptz null, add column "deadline_at" timestamptz null;`);
    this.addSql(`create index "runs_live_deadline" on "runs" ("deadline_at") where "status" in ('IN_PROGRESS', 'REQUIRES_ACTION', 'CANCELLING');`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "agents" drop column "run_timeout_ms";`);

    this.addSql(`drop index "runs_live_deadline";`);
    this.addSql(`alter table "runs" drop column "heartbeat_at", drop column "deadline_at";`);
  }

}
