import type { Client } from '@temporalio/client';

/** Whether the client's namespace has the custom search attribute `name` (a cluster may lack it). */
export async function hasSearchAttribute(client: Client, name: string): Promise<boolean> {
  const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace: client.options.namespace });
  return name in (customAttributes ?? {});
}
