"""The built-in default procedure of each step (a Chinese 4S store's practice, in Chinese with English item texts).

`procedures_install_defaults` copies them into a group as its published v1; until then (or in an empty database)
`selectors.current_version` answers an unsaved "v0" built from them, so every step always has its checklist.

The QC items keep the keys and meaning of the service app's former constant checklist (`QC_CHECKLIST`:
work_done, road_test, no_leaks, warning_lights, tightening, clean, old_parts), so older quality checks, which
record their ticks by key, stay readable.  `customer_facing` items are what a mystery shopper scores."""

from __future__ import annotations

from dataclasses import dataclass

from aftersales.standards.choices import ProcedureStep


@dataclass(frozen=True)
class DefaultItem:
    key: str
    text: str
    text_en: str
    customer_facing: bool = False


@dataclass(frozen=True)
class DefaultProcedure:
    step: str
    code: str
    title: str
    title_en: str
    text: str
    text_en: str
    items: tuple[DefaultItem, ...]


I = DefaultItem  # noqa: E741 - short name for the tables below

DEFAULTS: dict[str, DefaultProcedure] = {
    ProcedureStep.BOOKING: DefaultProcedure(
        step=ProcedureStep.BOOKING,
        code="SOP-BK",
        title="预约服务标准作业程序",
        title_en="Booking",
        text=(
            "服务顾问或客服专员在接到预约（电话、微信、到店）时，确认客户与车辆信息、需求和方便的时间，"
            "按工位与技师能力安排时段；预约前一天提醒客户，预约当天提前备好工单与常用零件。"
        ),
        text_en=(
            "Advisors and agents take bookings by phone, WeChat or at the desk, confirm the customer, the car, the "
            "need and a convenient slot, remind the customer the day before and prepare the order and common parts."
        ),
        items=(
            I("greet_name", "接听时报店名和本人姓名", "Answer with the store's and one's own name", True),
            I("confirm_vehicle", "核对车牌、车型和里程", "Confirm plate, model and mileage", True),
            I(
                "record_need",
                "记录客户描述的需求和故障现象",
                "Note the customer's need and symptoms in their words",
                True,
            ),
            I("offer_slots", "提供至少两个可选时段", "Offer at least two slots to choose from", True),
            I("explain_prep", "告知需携带的资料和预计用时", "Say what to bring and how long it will take", True),
            I("remind_day_before", "前一天发送预约提醒", "Send the reminder the day before", True),
            I("prepare_parts", "预约当天备好工单和常用零件", "Prepare the order and common parts on the day"),
        ),
    ),
    ProcedureStep.RECEPTION: DefaultProcedure(
        step=ProcedureStep.RECEPTION,
        code="SOP-RC",
        title="接待与环车检查标准作业程序",
        title_en="Reception and walk-around",
        text=(
            "客户到店后 2 分钟内迎接，服务顾问当着客户的面安装三件套并做环车检查：外观、内饰、里程、油量、"
            "贵重物品，标记已有损伤并拍照，请客户确认后再开工单。"
        ),
        text_en=(
            "Greet the customer within two minutes; in front of them fit the seat, wheel and floor covers and walk "
            "around the car (body, interior, mileage, fuel, valuables), mark and photograph existing damage and have "
            "the customer confirm before the order is opened."
        ),
        items=(
            I("greet", "2 分钟内主动迎接并自我介绍", "Greet within two minutes and introduce oneself", True),
            I(
                "covers",
                "当面安装座椅套、方向盘套、脚垫",
                "Fit seat, wheel and floor covers in front of the customer",
                True,
            ),
            I("walk_around", "与客户一起环车检查外观", "Walk around the car with the customer", True),
            I("mileage_fuel", "记录里程和油量（电量）", "Record mileage and fuel (charge) level"),
            I("damage_photos", "已有损伤标记并拍照", "Mark and photograph existing damage"),
            I("valuables", "提醒客户带走贵重物品", "Remind the customer to take their valuables", True),
            I("confirm_need", "复述需求并请客户确认", "Repeat the need back and have the customer confirm it", True),
        ),
    ),
    ProcedureStep.ESTIMATE: DefaultProcedure(
        step=ProcedureStep.ESTIMATE,
        code="SOP-ES",
        title="估价与增项确认标准作业程序",
        title_en="Estimate",
        text=(
            "诊断后逐项列出工时和零件，说明原因与价格；增加项目必须先取得客户同意（到店签字、电话录音或链接确认）"
            "再施工，未批准项目记入待办建议。"
        ),
        text_en=(
            "After diagnosis list labour and parts line by line with the reason and the price; any added work needs "
            "the customer's approval (signature, recorded call or link) before it starts; declined lines become "
            "deferred work."
        ),
        items=(
            I("explain_lines", "逐项解释工时和零件", "Explain each labour and parts line", True),
            I("show_price", "报价含税、含工时，无隐藏费用", "Quote including tax and labour, no hidden charges", True),
            I("part_grades", "说明原厂件与其他等级零件的区别", "Explain genuine versus other part grades", True),
            I(
                "approval_before_work",
                "增项取得客户同意后再施工",
                "Start added work only after the customer approves",
                True,
            ),
            I("promise_time", "告知预计完工时间", "Give the expected completion time", True),
            I("defer_declined", "未批准项目记为待办建议", "Record declined lines as deferred work"),
        ),
    ),
    ProcedureStep.REPAIR: DefaultProcedure(
        step=ProcedureStep.REPAIR,
        code="SOP-RP",
        title="维修作业标准作业程序",
        title_en="Repair",
        text=(
            "技师按派工单和维修手册作业，只做已批准的项目；发现新问题先停工上报服务顾问。高压作业须持证并断电"
            "验电。记录所用零件批次，旧件保留待客户查看。"
        ),
        text_en=(
            "Technicians work from the job card and the repair manual on approved lines only; a new finding stops "
            "work and goes to the advisor first.  High-voltage work needs the certificate, isolation and a voltage "
            "check.  Record each part's batch and keep the old parts for the customer."
        ),
        items=(
            I("read_job_card", "开工前核对派工单与批准项目", "Check the job card and approved lines before starting"),
            I("manual", "按维修手册和扭矩规范作业", "Follow the repair manual and torque specifications"),
            I("stop_on_finding", "发现新问题先停工并上报", "Stop and report any new finding before going on"),
            I("hv_safety", "高压作业持证、断电、验电", "High-voltage work: certified, isolated, checked"),
            I("record_batches", "记录零件批次", "Record the parts' batches"),
            I("keep_old_parts", "旧件保留并标记", "Keep and label the old parts"),
        ),
    ),
    ProcedureStep.QC: DefaultProcedure(
        step=ProcedureStep.QC,
        code="SOP-QC",
        title="质检标准作业程序",
        title_en="Quality check",
        text=(
            "完工后由未参与作业的班组长或质检员检查（四眼原则）：核对全部批准项目已完成，路试或功能测试，"
            "检查渗漏、仪表故障灯、紧固扭矩、车内清洁，旧件备好；任何一项不合格即退回返工并写明原因。"
        ),
        text_en=(
            "After the work a foreman or inspector who did not do it checks the car (four eyes): every approved line "
            "done, a road or function test, no leaks, no warning lights, fasteners torqued, the car clean and the "
            "old parts ready; any failed item sends the job back with the reason written down."
        ),
        items=(
            I("work_done", "全部批准项目已完成", "All approved work done"),
            I("road_test", "路试或功能测试合格", "Road test or function test passed"),
            I("no_leaks", "无渗漏，油液已补足", "No leaks, fluids topped up"),
            I("warning_lights", "仪表无故障灯", "No warning lights on the dashboard"),
            I("tightening", "车轮和紧固件按扭矩紧固", "Wheels and fasteners tightened to torque"),
            I("clean", "车内清洁，防护套已取下", "Car clean inside, protective covers removed", True),
            I("old_parts", "旧件已备好供客户查看", "Old parts ready to show the customer", True),
        ),
    ),
    ProcedureStep.DELIVERY: DefaultProcedure(
        step=ProcedureStep.DELIVERY,
        code="SOP-DL",
        title="交车标准作业程序",
        title_en="Delivery",
        text=(
            "交车前服务顾问自检车辆，按结算单逐项向客户解释所做项目和费用，展示旧件，提醒下次保养时间和里程，"
            "陪同客户到车旁，请客户评价。"
        ),
        text_en=(
            "Before handing over the advisor checks the car, explains every line of the bill and its cost, shows "
            "the old parts, tells the next maintenance date and mileage, walks the customer to the car and asks for "
            "their rating."
        ),
        items=(
            I("explain_work", "逐项解释所做项目和费用", "Explain each line of work and its cost", True),
            I("show_old_parts", "向客户展示旧件", "Show the old parts to the customer", True),
            I("next_service", "告知下次保养时间和里程", "Tell the next maintenance date and mileage", True),
            I("car_clean", "确认车辆洁净、座椅和后视镜复位", "Car clean, seats and mirrors back in place", True),
            I("walk_to_car", "陪同客户到车旁交钥匙", "Walk the customer to the car and hand over the key", True),
            I("ask_rating", "请客户评价本次服务", "Ask the customer to rate the visit", True),
        ),
    ),
    ProcedureStep.FOLLOW_UP: DefaultProcedure(
        step=ProcedureStep.FOLLOW_UP,
        code="SOP-FU",
        title="回访话术标准作业程序",
        title_en="Follow-up call script",
        text=(
            "交车后 3 天内由客服专员回访，按话术顺序进行：问候并说明来意，确认车辆使用情况，请客户评价服务，"
            "记录意见；客户不满意时当场致歉并转投诉处理，24 小时内回复。"
        ),
        text_en=(
            "Within three days of delivery an agent calls the customer, following the script: greet and say why "
            "you call, ask how the car runs, ask for the ratings, note remarks; an unhappy customer gets an apology "
            "and a complaint opened, with an answer within 24 hours."
        ),
        items=(
            I(
                "introduce",
                "“您好，我是××店客服××，耽误您两分钟做个回访可以吗？”",
                "Greet, name the store and oneself, ask for two minutes",
                True,
            ),
            I(
                "vehicle_ok",
                "“车辆维修后使用情况怎么样？有没有异常？”",
                "Ask how the car has been running since the visit",
                True,
            ),
            I(
                "ratings",
                "请客户对服务态度、维修质量、等待时间等打分",
                "Ask for the ratings (attitude, quality, waiting time …)",
                True,
            ),
            I(
                "remarks",
                "“您对我们还有什么建议吗？”并如实记录",
                "Ask for suggestions and note them word for word",
                True,
            ),
            I("unhappy_apology", "不满意时当场致歉并登记投诉", "If unhappy: apologise and open a complaint", True),
            I("thanks", "感谢客户并提醒下次保养", "Thank the customer and mention the next maintenance", True),
        ),
    ),
    ProcedureStep.COMPLAINT: DefaultProcedure(
        step=ProcedureStep.COMPLAINT,
        code="SOP-CP",
        title="投诉处理标准作业程序",
        title_en="Complaint handling",
        text=(
            "首问负责制：第一个接到投诉的人负责到底。2 小时内确认受理，24 小时内联系客户，72 小时内解决"
            "（网络差评 48 小时）。倾听、致歉、核实、给出方案并经客户确认后关闭，记录客户对处理的满意度。"
        ),
        text_en=(
            "The first person who takes a complaint owns it to the end: acknowledge within 2 hours, contact the "
            "customer within 24 hours, resolve within 72 (a negative online review within 48).  Listen, apologise, "
            "check the facts, offer a remedy and close only with the customer's confirmation and their satisfaction."
        ),
        items=(
            I("own_it", "首问负责，登记投诉并告知处理人", "Own it: log the complaint and say who handles it", True),
            I("listen", "耐心倾听，不打断、不争辩", "Listen without interrupting or arguing", True),
            I("apologise", "真诚致歉", "Apologise sincerely", True),
            I("acknowledge_2h", "2 小时内确认受理", "Acknowledge within 2 hours"),
            I("contact_24h", "24 小时内联系客户", "Contact the customer within 24 hours", True),
            I("remedy_confirmed", "方案经客户确认后执行", "Carry out the remedy the customer agreed to", True),
            I("close_satisfaction", "关闭时记录客户满意度", "Record the customer's satisfaction when closing"),
        ),
    ),
}


def default_for(step: str) -> DefaultProcedure:
    return DEFAULTS[ProcedureStep(step)]
