import { Field, ID, Int, ObjectType } from 'type-graphql';
import { ConnectionType } from '../../server/relay';
import { MessageRole } from '../messages/message.entity';
import { MessageType } from '../messages/message.types';
import { UsageType } from '../usage/usage.types';

@ObjectType('Branch', { description: 'One branch of a conversation tree: the path from a root to a leaf (a message without replies).' })
export class BranchType {
  @Field(() => MessageType, { description: 'The last message of the branch; pass its id as leafId to Conversation.messages or setActiveLeaf.' })
  leaf!: MessageType;

  @Field(() => Int, { description: 'Messages on the branch, root and leaf included (leaf depth + 1).' })
  length!: number;

  @Field({ description: 'When the leaf was last written or changed; branches are listed most recent first.' })
  lastActivityAt!: Date;

  @Field(() => UsageType, { description: 'Tokens and cost of every message on the branch (the sum over its path).' })
  usage!: UsageType;

  @Field({
    description:
      "Whether the leaf is the conversation's active leaf. When setActiveLeaf pointed at an inner message, no branch is active: the active branch is then the path to that message.",
  })
  isActive!: boolean;
}

export const BranchConnection = ConnectionType('Branch', BranchType, 'A page of branches, most recently active first.');

@ObjectType('TreeNode', { description: 'A message as a node of the tree view: its place in the tree and a preview, without the full content.' })
export class TreeNodeType {
  @Field(() => ID, { description: 'Message id.' })
  id!: string;

  @Field(() => ID, { nullable: true, description: 'Parent message id; null for a root.' })
  parentId!: string | null;

  @Field(() => MessageRole, { description: 'Author role.' })
  role!: MessageRole;

  @Field(() => Int, { description: 'Distance from the root (0 for a root); the indentation level.' })
  depth!: number;

  @Field(() => Int, { description: 'Position among the children of the same parent (roots: among the roots), from 0, oldest first.' })
  siblingIndex!: number;

  @Field(() => Int, { description: 'Number of replies; more than one means the tree forks here.' })
  childCount!: number;

  @Field({ description: 'The first 200 characters of the content.' })
  preview!: string;

  @Field({ description: 'Creation time.' })
  createdAt!: Date;
}

export const TreeNodeConnection = ConnectionType(
  'TreeNode',
  TreeNodeType,
  'A page of the tree in depth-first pre-order: every node comes after its parent and before its next sibling, siblings oldest first.',
);
