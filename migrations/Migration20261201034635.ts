import { Migration } from '@mikro-orm/migrations';

export class Migration20261201034635 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create index "conversations_agent_id_index" on "conversations" ("agent_id");`);
    this.addSql(`create index "conversations_active_leaf_id_index" on "conversations" ("active_leaf_id");`);

    this.addSql(`create index "messages_agent_id_index" on "messages" ("agent_id");`);
    this.addSql(`create index "messages_run_id_index" on "messages" ("run_id");`);

    this.addSql(`create index "runs_agent_id_index" on "runs" ("agent_id");`);
    this.addSql(`create index "runs_input_message_id_index" on "runs" ("input_message_id");`);
    this.addSql(`create index "runs_response_message_id_index" on "runs" ("response_message_id");`);

    this.addSql(`create index "context_summaries_conversation_id_index" on "context_summaries" ("conversation_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "context_summaries_conversation_id_index";`);

    this.addSql(`drop index "conversations_agent_id_index";`);
    this.addSql(`drop index "conversations_active_leaf_id_index";`);

    this.addSql(`drop index "messages_agent_id_index";`);
    this.addSql(`drop index "messages_run_id_index";`);

    this.addSql(`drop index "runs_agent_id_index";`);
    this.addSql(`drop index "runs_input_message_id_index";`);
    this.addSql(`drop index "runs_response_message_id_index";`);
  }

}
