"""Labels for the inspector pages and the inspection report: Simplified Chinese (default) and English."""
from __future__ import annotations

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "视频抽样检查", "report_title": "培训班视频抽样检查报告", "login": "检查员登录",
        "key": "检查员密钥", "sign_in": "登录", "sign_out": "退出", "bad_key": "密钥无效或无检查员权限",
        "inspections": "抽样检查", "open_inspections": "进行中的检查", "class": "培训班", "institution": "培训机构",
        "status": "状态", "open": "进行中", "closed": "已结束", "opened": "开始时间", "opened_by": "发起人",
        "plan": "抽样方案", "method": "方法", "population": "总体（无打卡记录的课次）N", "sample_size": "样本量 n",
        "acceptance": "接收数 c", "confidence": "置信度", "tolerable_rate": "可容忍不合格率",
        "defects": "须检出的不合格课次数 D", "achieved": "达到的接收概率（精确值）", "conventions": "约定",
        "seed": "随机种子", "seed_source": "种子来源", "algorithm": "抽样算法", "population_hash": "总体 SHA-256",
        "design": "抽样设计", "severity": "检验严格度", "sample": "样本", "queue": "待审课次",
        "session": "课次", "day": "日期", "session_no": "节次", "week": "周", "window": "审看时段 (UTC)", "window_local": "审看时段（当地时间）", "session_time": "课次时间",
        "clip": "视频片段", "no_clip": "无视频片段", "clip_problem": "视频问题", "prescreen": "人脸预筛",
        "faces_max": "最多人脸数", "identified": "识别出的学员", "roster": "花名册", "name": "姓名",
        "pin": "考勤号", "id_masked": "身份证号（脱敏）", "verdicts": "检查结论", "inspector": "检查员",
        "at": "时间", "held": "是否按申报开课", "yes": "是", "no": "否", "head_count": "现场人数",
        "notes": "备注", "footage_problem": "视频问题", "none": "无", "missing": "缺失", "unreadable": "无法播放",
        "altered": "被篡改", "submit": "提交结论", "evaluate": "评定", "close": "结束检查",
        "decision": "检查结论", "pass": "合格（可申领补贴）", "fail": "不合格（不予补贴）", "incomplete": "尚未完成",
        "bad_sessions": "不合格课次数 x", "reviewed": "已审课次", "upper_bound": "不合格课次数上限 D_U",
        "upper_rate": "不合格率上限", "bound_def": "D_U = max{D : P(X ≤ x | N, D, n) > α}（超几何分布，精确计算）",
        "disputed": "检查员意见不一致的课次", "saved": "已保存", "back": "返回", "report": "报告",
        "generated": "生成时间", "closed_at": "结束时间", "presence": "考勤情况", "enrolled": "在册人数",
        "language": "English", "verdict_saved": "结论已保存（追加记录，不覆盖之前的结论）",
    },
    "en": {
        "title": "Video sampling inspection", "report_title": "Class video sampling inspection report",
        "login": "Inspector sign-in", "key": "Inspector key", "sign_in": "Sign in", "sign_out": "Sign out",
        "bad_key": "Unknown key or not an inspector key", "inspections": "Inspections",
        "open_inspections": "Open inspections", "class": "Class", "institution": "Institution", "status": "Status",
        "open": "open", "closed": "closed", "opened": "Opened", "opened_by": "Opened by", "plan": "Plan",
        "method": "Method", "population": "Population (sessions without punch records) N", "sample_size": "Sample size n",
        "acceptance": "Acceptance number c", "confidence": "Confidence", "tolerable_rate": "Tolerable rate",
        "defects": "Bad sessions to detect D", "achieved": "Achieved acceptance probability (exact)",
        "conventions": "Conventions", "seed": "Seed", "seed_source": "Seed source", "algorithm": "Algorithm",
        "population_hash": "Population SHA-256", "design": "Design", "severity": "Severity", "sample": "Sample",
        "queue": "Review queue", "session": "Session", "day": "Day", "session_no": "No.", "week": "Week",
        "window": "Review window (UTC)", "window_local": "Review window (local time)", "session_time": "session", "clip": "Clip", "no_clip": "no clip", "clip_problem": "Footage problem",
        "prescreen": "Face pre-screen", "faces_max": "Max faces", "identified": "Trainees identified",
        "roster": "Roster", "name": "Name", "pin": "PIN", "id_masked": "Resident ID (masked)", "verdicts": "Verdicts",
        "inspector": "Inspector", "at": "At", "held": "Held as declared", "yes": "yes", "no": "no",
        "head_count": "Head count", "notes": "Notes", "footage_problem": "Footage problem", "none": "none",
        "missing": "missing", "unreadable": "unreadable", "altered": "altered", "submit": "Submit verdict",
        "evaluate": "Evaluate", "close": "Close inspection", "decision": "Decision",
        "pass": "pass (eligible for subsidy)", "fail": "fail (not eligible)", "incomplete": "incomplete",
        "bad_sessions": "Bad sessions x", "reviewed": "Reviewed", "upper_bound": "Upper bound on bad sessions D_U",
        "upper_rate": "Upper bound rate", "bound_def": "D_U = max{D : P(X <= x | N, D, n) > alpha} (hypergeometric, exact)",
        "disputed": "Sessions where inspectors disagree", "saved": "saved", "back": "Back", "report": "Report",
        "generated": "Generated", "closed_at": "Closed", "presence": "Presence", "enrolled": "Enrolled",
        "language": "中文", "verdict_saved": "Verdict saved (appended; earlier verdicts are kept)",
    },
}


def labels(lang: str | None) -> dict[str, str]:
    return LABELS["en" if lang == "en" else "zh"]
