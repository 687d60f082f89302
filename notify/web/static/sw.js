// Service worker of the notify pages: shows a Web Push notice (sent by notify/webpush.py to people
// whose devices did not acknowledge it) and opens the notices page when it is clicked.

self.addEventListener("push", (event) => {
  const notice = event.data ? event.data.json() : {};
  event.waitUntil(
    self.registration.showNotification(notice.title || "Urgent notice", {
      body: notice.body || "",
      lang: notice.lang || "",  // the recipient's language (zh-CN or en): the system picks fonts and voices by it
      tag: `broadcast-${notice.broadcast_id}`,
      requireInteraction: true,
      data: { url: notice.org_id ? `/notify/inbox?org=${notice.org_id}` : "/notify/inbox" }, // the organisation: an outsider is in no list
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(self.clients.openWindow(event.notification.data.url));
});
