"""The GraphQL endpoint of the fake GitHub: a small slice of GitHub's schema, really executed.

The schema below is written in GitHub's own names and types for what Orchestrate asks
(review threads, replying, resolving). graphql-core parses, validates and executes each
request against it, so a query that asks for a field GitHub does not have, or one this
slice does not cover, is refused with a GraphQL error as GitHub would refuse a typo,
rather than answered with a guess. Errors GitHub types (``NOT_FOUND``) carry ``type``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLError, GraphQLSchema, build_schema, graphql_sync

from orchestrate.testing._github_state import (
    FakePullRequest,
    FakeRepository,
    FakeThread,
    FakeThreadComment,
    FakeUser,
    GitHubState,
)

SCHEMA_SDL = """
schema { query: Query mutation: Mutation }

type Query {
  repository(owner: String!, name: String!, followRenames: Boolean = true): Repository
}

type Mutation {
  addPullRequestReviewThreadReply(
    input: AddPullRequestReviewThreadReplyInput!
  ): AddPullRequestReviewThreadReplyPayload
  resolveReviewThread(input: ResolveReviewThreadInput!): ResolveReviewThreadPayload
  unresolveReviewThread(
    input: UnresolveReviewThreadInput!
  ): UnresolveReviewThreadPayload
}

type Repository {
  id: ID!
  name: String!
  nameWithOwner: String!
  pullRequest(number: Int!): PullRequest
}

type PullRequest {
  id: ID!
  number: Int!
  title: String!
  reviewThreads(
    first: Int, after: String, last: Int, before: String
  ): PullRequestReviewThreadConnection!
}

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  endCursor: String
  startCursor: String
}

type PullRequestReviewThreadConnection {
  nodes: [PullRequestReviewThread]
  pageInfo: PageInfo!
  totalCount: Int!
}

type PullRequestReviewThread {
  id: ID!
  isResolved: Boolean!
  isOutdated: Boolean!
  path: String!
  line: Int
  comments(
    first: Int, after: String, last: Int, before: String
  ): PullRequestReviewCommentConnection!
}

type PullRequestReviewCommentConnection {
  nodes: [PullRequestReviewComment]
  pageInfo: PageInfo!
  totalCount: Int!
}

enum CommentAuthorAssociation {
  COLLABORATOR CONTRIBUTOR FIRST_TIMER FIRST_TIME_CONTRIBUTOR MANNEQUIN MEMBER NONE OWNER
}

type User { login: String! }

type PullRequestReviewComment {
  id: ID!
  databaseId: Int
  body: String!
  path: String!
  line: Int
  author: User
  authorAssociation: CommentAuthorAssociation!
}

input AddPullRequestReviewThreadReplyInput {
  pullRequestReviewThreadId: ID!
  body: String!
  clientMutationId: String
}

type AddPullRequestReviewThreadReplyPayload {
  clientMutationId: String
  comment: PullRequestReviewComment
}

input ResolveReviewThreadInput { threadId: ID! clientMutationId: String }
type ResolveReviewThreadPayload { clientMutationId: String thread: PullRequestReviewThread }
input UnresolveReviewThreadInput { threadId: ID! clientMutationId: String }
type UnresolveReviewThreadPayload { clientMutationId: String thread: PullRequestReviewThread }
"""


class NotFoundOnGitHub(Exception):
    """Becomes a GraphQL error with ``"type": "NOT_FOUND"``, as GitHub types it."""


class FakeGraphQL:
    def __init__(self, state: GitHubState) -> None:
        self.state = state
        self.schema: GraphQLSchema = build_schema(SCHEMA_SDL)
        self._wire()

    def execute(self, body: Any, user: FakeUser) -> dict[str, Any]:
        """The JSON answer to a request body ``{"query": …, "variables": …}``."""
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return {
                "errors": [{"message": "A query attribute must be specified and must be a string."}]
            }
        variables = body.get("variables")
        if variables is not None and not isinstance(variables, dict):
            return {"errors": [{"message": "Variables are invalid JSON."}]}
        result = graphql_sync(
            self.schema,
            body["query"],
            variable_values=variables,
            operation_name=body.get("operationName"),
            context_value=user,
        )
        answer: dict[str, Any] = {}
        if result.errors:
            answer["errors"] = [_render_error(item) for item in result.errors]
        if result.data is not None:
            answer["data"] = result.data
        return answer

    # -- resolvers ---------------------------------------------------------------------------

    def _wire(self) -> None:
        query, mutation = self.schema.query_type, self.schema.mutation_type
        assert query is not None
        assert mutation is not None
        query.fields["repository"].resolve = self._repository
        repository = self.schema.get_type("Repository")
        pull_request = self.schema.get_type("PullRequest")
        thread = self.schema.get_type("PullRequestReviewThread")
        comment = self.schema.get_type("PullRequestReviewComment")
        _set(repository, "pullRequest", self._pull_request)
        _set(repository, "nameWithOwner", lambda repo, _info: repo.full_name)
        _set(repository, "name", lambda repo, _info: repo.full_name.split("/")[1])
        _set(repository, "id", lambda repo, _info: f"R_kw{repo.id}")
        _set(pull_request, "id", lambda pair, _info: pair[1].node_id)
        _set(pull_request, "number", lambda pair, _info: pair[1].number)
        _set(pull_request, "title", lambda pair, _info: pair[1].title)
        _set(pull_request, "reviewThreads", self._threads)
        _set(thread, "id", lambda t, _info: t.node_id)
        _set(thread, "isResolved", lambda t, _info: t.resolved)
        _set(thread, "isOutdated", lambda t, _info: t.outdated)
        _set(thread, "path", lambda t, _info: t.path)
        _set(thread, "line", lambda t, _info: None if t.outdated else t.line)
        _set(thread, "comments", lambda t, _info, **args: _connection(t.comments, args))
        _set(comment, "id", lambda c, _info: c.node_id)
        _set(comment, "databaseId", lambda c, _info: c.id)
        _set(comment, "body", lambda c, _info: c.body)
        _set(comment, "path", lambda c, _info: c.path)
        _set(comment, "line", lambda c, _info: c.line)
        _set(comment, "author", lambda c, _info: {"login": c.user.login})
        _set(comment, "authorAssociation", lambda c, _info: c.user.association)
        mutation.fields["addPullRequestReviewThreadReply"].resolve = self._reply
        mutation.fields["resolveReviewThread"].resolve = self._resolve(True)
        mutation.fields["unresolveReviewThread"].resolve = self._resolve(False)

    def _repository(
        self, _root: object, _info: object, owner: str, name: str, **_: object
    ) -> FakeRepository:
        repository = self.state.repository(f"{owner}/{name}")
        if repository is None:
            raise NotFoundOnGitHub(
                f"Could not resolve to a Repository with the name '{owner}/{name}'."
            )
        return repository

    def _pull_request(
        self, repository: FakeRepository, _info: object, number: int
    ) -> tuple[FakeRepository, FakePullRequest]:
        pull = repository.pulls.get(number)
        if pull is None:
            raise NotFoundOnGitHub(
                f"Could not resolve to a PullRequest with the number of {number}."
            )
        return repository, pull

    def _threads(
        self, pair: tuple[FakeRepository, FakePullRequest], _info: object, **args: Any
    ) -> dict[str, Any]:
        return _connection(pair[1].threads, args)

    def _find_thread(self, node_id: str) -> tuple[FakeRepository, FakePullRequest, FakeThread]:
        for repository in self.state.repositories.values():
            for pull in repository.pulls.values():
                for thread in pull.threads:
                    if thread.node_id == node_id:
                        return repository, pull, thread
        raise NotFoundOnGitHub(f"Could not resolve to a node with the global id of '{node_id}'")

    def _reply(self, _root: object, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        _repository, _pull, thread = self._find_thread(input["pullRequestReviewThreadId"])
        if not input["body"].strip():
            raise GraphQLError("Body can't be blank")
        user: FakeUser = info.context
        comment_id = self.state.next_id()
        reply = FakeThreadComment(
            comment_id, f"PRRC_kw{comment_id}", input["body"], user, thread.path, thread.line, None
        )
        thread.comments.append(reply)
        return {"comment": reply, "clientMutationId": input.get("clientMutationId")}

    def _resolve(self, resolved: bool) -> Callable[..., dict[str, Any]]:
        def resolve(_root: object, _info: object, input: dict[str, Any]) -> dict[str, Any]:
            _repository, _pull, thread = self._find_thread(input["threadId"])
            thread.resolved = resolved
            return {"thread": thread, "clientMutationId": input.get("clientMutationId")}

        return resolve


def _set(graphql_type: Any, field: str, resolver: Callable[..., Any]) -> None:
    graphql_type.fields[field].resolve = resolver


def _connection(nodes: list[Any], args: dict[str, Any]) -> dict[str, Any]:
    """A page of ``nodes`` after the cursor ``after`` (cursors are positions)."""
    start = (
        int(args["after"]) if isinstance(args.get("after"), str) and args["after"].isdigit() else 0
    )
    first = args.get("first")
    if first is not None and not 0 <= first <= 100:
        raise GraphQLError("Requesting more than 100 records on the connection is not allowed.")
    end = len(nodes) if first is None else start + first
    page = nodes[start:end]
    return {
        "nodes": page,
        "totalCount": len(nodes),
        "pageInfo": {
            "hasNextPage": end < len(nodes),
            "hasPreviousPage": start > 0,
            "endCursor": str(start + len(page)) if page else None,
            "startCursor": str(start) if page else None,
        },
    }


def _render_error(error: GraphQLError) -> dict[str, Any]:
    rendered: dict[str, Any] = dict(error.formatted)
    if isinstance(error.original_error, NotFoundOnGitHub):
        rendered = {**rendered, "type": "NOT_FOUND"}
    return rendered
