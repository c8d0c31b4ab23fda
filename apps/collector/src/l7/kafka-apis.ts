/**
 * The Kafka API key table: official names (as in Kafka's protocol guide) and the first "flexible" version of
 * each API (KIP-482: compact strings/arrays and tagged fields), which decides the request header version
 * (v2 for flexible requests, v1 otherwise) and the response header version (v1 / v0).
 */

/** [name, first flexible version (Infinity: never flexible)] by api key. */
const APIS: readonly (readonly [string, number])[] = [
  ['Produce', 9],
  ['Fetch', 12],
  ['ListOffsets', 6],
  ['Metadata', 9],
  ['LeaderAndIsr', 4],
  ['StopReplica', 2],
  ['UpdateMetadata', 6],
  ['ControlledShutdown', 3],
  ['OffsetCommit', 8],
  ['OffsetFetch', 6],
  ['FindCoordinator', 3],
  ['JoinGroup', 6],
  ['Heartbeat', 4],
  ['LeaveGroup', 4],
  ['SyncGroup', 4],
  ['DescribeGroups', 5],
  ['ListGroups', 3],
  ['SaslHandshake', Infinity],
  ['ApiVersions', 3],
  ['CreateTopics', 5],
  ['DeleteTopics', 4],
  ['DeleteRecords', 2],
  ['InitProducerId', 2],
  ['OffsetForLeaderEpoch', 4],
  ['AddPartitionsToTxn', 3],
  ['AddOffsetsToTxn', 3],
  ['EndTxn', 3],
  ['WriteTxnMarkers', 1],
  ['TxnOffsetCommit', 3],
  ['DescribeAcls', 2],
  ['CreateAcls', 2],
  ['DeleteAcls', 2],
  ['DescribeConfigs', 4],
  ['AlterConfigs', 2],
  ['AlterReplicaLogDirs', 2],
  ['DescribeLogDirs', 2],
  ['SaslAuthenticate', 2],
  ['CreatePartitions', 2],
  ['CreateDelegationToken', 2],
  ['RenewDelegationToken', 2],
  ['ExpireDelegationToken', 2],
  ['DescribeDelegationToken', 2],
  ['DeleteGroups', 2],
  ['ElectLeaders', 2],
  ['IncrementalAlterConfigs', 1],
  ['AlterPartitionReassignments', 0],
  ['ListPartitionReassignments', 0],
  ['OffsetDelete', Infinity],
  ['DescribeClientQuotas', 1],
  ['AlterClientQuotas', 1],
  ['DescribeUserScramCredentials', 0],
  ['AlterUserScramCredentials', 0],
  ['Vote', 0],
  ['BeginQuorumEpoch', 1],
  ['EndQuorumEpoch', 1],
  ['DescribeQuorum', 0],
  ['AlterPartition', 0],
  ['UpdateFeatures', 0],
  ['Envelope', 0],
  ['FetchSnapshot', 0],
  ['DescribeCluster', 0],
  ['DescribeProducers', 0],
  ['BrokerRegistration', 0],
  ['BrokerHeartbeat', 0],
  ['UnregisterBroker', 0],
  ['DescribeTransactions', 0],
  ['ListTransactions', 0],
  ['AllocateProducerIds', 0],
  ['ConsumerGroupHeartbeat', 0],
  ['ConsumerGroupDescribe', 0],
  ['ControllerRegistration', 0],
  ['GetTelemetrySubscriptions', 0],
  ['PushTelemetry', 0],
  ['AssignReplicasToDirs', 0],
  ['ListConfigResources', 0],
  ['DescribeTopicPartitions', 0],
  ['ShareGroupHeartbeat', 0],
  ['ShareGroupDescribe', 0],
  ['ShareFetch', 0],
  ['ShareAcknowledge', 0],
  ['AddRaftVoter', 0],
  ['RemoveRaftVoter', 0],
  ['UpdateRaftVoter', 0],
  ['InitializeShareGroupState', 0],
  ['ReadShareGroupState', 0],
  ['WriteShareGroupState', 0],
  ['DeleteShareGroupState', 0],
  ['ReadShareGroupStateSummary', 0],
  ['StreamsGroupHeartbeat', 0],
  ['StreamsGroupDescribe', 0],
  ['DescribeShareGroupOffsets', 0],
  ['AlterShareGroupOffsets', 0],
  ['DeleteShareGroupOffsets', 0],
];

export const API_KEYS = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  OffsetCommit: 8,
  OffsetFetch: 9,
  FindCoordinator: 10,
  JoinGroup: 11,
  Heartbeat: 12,
  LeaveGroup: 13,
  SyncGroup: 14,
  ApiVersions: 18,
} as const;

/** Highest api key this table knows; requests with larger keys are not recognised as Kafka. */
export const MAX_API_KEY = APIS.length - 1;

/** Kafka's name for an api key, or "ApiKey<n>" for one this table does not know. */
export function kafkaApiName(apiKey: number): string {
  return APIS[apiKey]?.[0] ?? `ApiKey${apiKey}`;
}

export function isKnownApiKey(apiKey: number): boolean {
  return Number.isInteger(apiKey) && apiKey >= 0 && apiKey <= MAX_API_KEY;
}

/** Whether this api key at this version uses the flexible (compact + tagged fields) encoding. */
export function isFlexible(apiKey: number, apiVersion: number): boolean {
  const api = APIS[apiKey];
  return api !== undefined && apiVersion >= api[1];
}

/** Request header version: 2 when flexible, 1 otherwise (ControlledShutdown v0 alone uses header v0). */
export function requestHeaderVersion(apiKey: number, apiVersion: number): 0 | 1 | 2 {
  if (apiKey === 7 && apiVersion === 0) return 0;
  return isFlexible(apiKey, apiVersion) ? 2 : 1;
}

/** Response header version: 1 (tagged fields after the correlation id) when flexible, except ApiVersions. */
export function responseHeaderVersion(apiKey: number, apiVersion: number): 0 | 1 {
  if (apiKey === API_KEYS.ApiVersions) return 0;
  return isFlexible(apiKey, apiVersion) ? 1 : 0;
}
