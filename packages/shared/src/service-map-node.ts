/**
 * A service on the map: its traffic in and out, summed over the edges it is an end of. One definition and one
 * empty constructor for the server's map query, the UI's model tests and the UI benchmark's synthetic map.
 */
export interface ServiceMapNode {
  id: string;
  name: string;
  namespace: string;
  /** L7 requests and error responses. */
  requestsIn: number;
  requestsOut: number;
  errorsIn: number;
  errorsOut: number;
  connectionsIn: number;
  connectionsOut: number;
  connectionErrorsIn: number;
  connectionErrorsOut: number;
  dropsIn: number;
  dropsOut: number;
  /** Health: inbound request error ratio, else outbound, else the same for connections; 1 with only drops. */
  failureRatio: number;
}

/** A node with no traffic yet (counts are added edge by edge). */
export function emptyServiceNode(id: string, namespace: string, name: string): ServiceMapNode {
  return {
    id,
    name,
    namespace,
    requestsIn: 0,
    requestsOut: 0,
    errorsIn: 0,
    errorsOut: 0,
    connectionsIn: 0,
    connectionsOut: 0,
    connectionErrorsIn: 0,
    connectionErrorsOut: 0,
    dropsIn: 0,
    dropsOut: 0,
    failureRatio: 0,
  };
}
