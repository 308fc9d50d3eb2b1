import { Field, Float, ID, Int, ObjectType } from 'type-graphql';

@ObjectType('ModelCapabilities', { description: 'What a model can do.' })
export class ModelCapabilitiesType {
  @Field({ description: 'Supports tool (function) calls.' })
  tools!: boolean;

  @Field({ description: 'Streams reasoning.' })
  reasoning!: boolean;

  @Field({ description: 'Supports streaming.' })
  streaming!: boolean;
}

@ObjectType('Model', { description: 'A model from the catalog whose provider is configured.' })
export class ModelType {
  @Field(() => ID, { description: 'Model id as provider/model.' })
  id!: string;

  @Field({ description: 'Provider name.' })
  provider!: string;

  @Field(() => Int, { description: 'Context window in tokens.' })
  contextWindow!: number;

  @Field(() => Int, { description: 'Maximum output tokens per call.' })
  maxOutputTokens!: number;

  @Field(() => Float, { description: 'USD per 1M input tokens.' })
  inputPricePer1M!: number;

  @Field(() => Float, { description: 'USD per 1M output tokens.' })
  outputPricePer1M!: number;

  @Field(() => Float, { nullable: true, description: 'USD per 1M cached input tokens, when discounted.' })
  cachedInputPricePer1M!: number | null;

  @Field(() => ModelCapabilitiesType, { description: 'Capabilities.' })
  capabilities!: ModelCapabilitiesType;

  @Field(() => String, { nullable: true, description: 'Short description.' })
  description!: string | null;
}
