import { Migration } from '@mikro-orm/migrations';

export class Migration20261204155518 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create index "runs_owner_slot" on "runs" ("owner_id") where "status" in ('QUEUED', 'IN_PROGRESS', 'CANCELLING');`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "runs_owner_slot";`);
  }

}
