/** The sample's users. Real apps check a password hash; this is a demo. */
export const DEMO_USERS: Record<
  string,
  { id: string; name: string; email: string; password: string }
> = {
  alice: { id: 'u-alice', name: 'Alice', email: 'alice@example.com', password: 'wonderland' },
  bob: { id: 'u-bob', name: 'Bob', email: 'bob@example.com', password: 'builder' },
};
