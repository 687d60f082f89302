// The organisation's members a page at a time (GET /api/v1/orgs/{id}/members: search,
// department filter, keyset cursor), for every list with a search box and "Load more".
//
// Each new listing supersedes the one before: an answer to an older listing is
// dropped, so a slow response for "an" never overwrites the one for "ann".

import { api, query } from "./api.js";

export class MemberPages {
  constructor(orgId) {
    this.orgId = orgId;
    this.listing = 0;
    this.nextCursor = null;
  }

  /** The first page for `filters` ({q, department_id, include_subdepartments}), or with `more` the next one; null if a newer listing began meanwhile. */
  async fetch(filters, { more = false } = {}) {
    const listing = more ? this.listing : ++this.listing;
    try {
      const page = await api(`/api/v1/orgs/${this.orgId}/members${query({ ...filters, cursor: more ? this.nextCursor : null })}`);
      if (listing !== this.listing) return null;
      this.nextCursor = page.next_cursor;
      return page;
    } catch (error) {
      if (listing !== this.listing) return null;
      throw error;
    }
  }

  get hasMore() {
    return Boolean(this.nextCursor);
  }
}
