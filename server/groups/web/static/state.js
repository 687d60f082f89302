// What the chat page's modules share: the organisation, who I am, my groups, the open group and its members.

export const state = {
  orgId: null,
  me: null,
  groups: new Map(), // id -> the API's MyGroupOut
  current: null, // open group id
  role: null, // my role in the open group
  members: [], // [{user_id, name}]: the first 1,000 of the open group, for names (@mentions and the member list search the server)
  memberCount: 0, // of the open group
  person: false, // a person of the organisation (not a guest, not an external contact): may open direct chats
  names: new Map(), // user id -> name, members of the open group
};

export const $ = (id) => document.getElementById(id);
export const orgPath = (path) => `/api/v1/orgs/${state.orgId}${path}`;
export const groupPath = (path = "", groupId = state.current) => orgPath(`/groups/${groupId}${path}`);
export const isAdmin = () => state.role === "owner" || state.role === "admin";
