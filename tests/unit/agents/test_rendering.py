"""What ``agent start --wait`` prints for the messages that are not the agent's own."""

from __future__ import annotations

from orchestrate.agents.rendering import progress_line
from orchestrate.agents.stuck import WARNING_HEADING
from orchestrate.llm.models import Message, Role, TextBlock, ToolResultBlock


def user(*blocks: TextBlock | ToolResultBlock) -> Message:
    return Message(role=Role.USER, content=list(blocks))


class TestProgressLines:
    def test_the_loop_warning_is_shown_while_following(self) -> None:
        warning = f"{WARNING_HEADING}: you appear to be stuck in a loop."

        line = progress_line(user(TextBlock(text=warning)))

        assert line is not None
        assert line.plain == f"  ! {warning}"

    def test_a_failed_tool_is_shown_and_a_plain_result_is_not(self) -> None:
        failed = ToolResultBlock(tool_use_id="t1", content="No such file\nmore", is_error=True)
        fine = ToolResultBlock(tool_use_id="t2", content="ok")

        error_line = progress_line(user(failed))

        assert error_line is not None
        assert error_line.plain == "  ! No such file"
        assert progress_line(user(fine)) is None
        assert progress_line(user(TextBlock(text="Continue the task."))) is None
