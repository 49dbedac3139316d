"""Review threads through GitHub's GraphQL API: the REST API cannot resolve a thread.

The documents are constants so the fake GitHub of ``orchestrate.testing`` is checked
against exactly what the adapter sends (it validates them against its schema).
"""

from __future__ import annotations

REVIEW_THREADS = """
query ReviewThreads($owner: String!, $name: String!, $number: Int!, $after: String) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      reviewThreads(first: 100, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes {
          id
          isResolved
          isOutdated
          path
          line
          comments(first: 100) {
            nodes { id body authorAssociation author { login } }
          }
        }
      }
    }
  }
}
"""

REPLY_TO_THREAD = """
mutation ReplyToThread($thread: ID!, $body: String!) {
  addPullRequestReviewThreadReply(input: {pullRequestReviewThreadId: $thread, body: $body}) {
    comment { id body authorAssociation author { login } }
  }
}
"""

RESOLVE_THREAD = """
mutation ResolveThread($thread: ID!) {
  resolveReviewThread(input: {threadId: $thread}) {
    thread { id isResolved }
  }
}
"""

MAX_THREAD_PAGES = 50
"""Pages of 100 threads read at most: 5,000 threads is more than any review has."""
