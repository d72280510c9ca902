"""Known-answer and property tests for the Chinese identifier validators."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from aftersales.customers import validators as v

TODAY = dt.date(2025, 6, 1)


def message_of(func, value, **kwargs) -> str:
    with pytest.raises(ValidationError) as info:
        func(value, **kwargs)
    return str(info.value.messages[0])


class MobileTests:
    @pytest.mark.parametrize(
        "raw",
        [
            "13812345678",
            " 138 1234 5678 ",
            "138-1234-5678",
            "+86 138 1234 5678",
            "0086-13812345678",
            "8613812345678",
            "+86-138.1234.5678",
        ],
    )
    def test_it_strips_separators_and_the_country_prefix(self, raw):
        assert v.normalize_mobile(raw) == "13812345678"

    @pytest.mark.parametrize(
        "raw",
        [
            "12812345678",  # second digit 2 is not a mobile range
            "1381234567",  # 10 digits
            "138123456789",  # 12 digits
            "23812345678",  # does not start with 1
            "+85213812345678",  # a Hong Kong prefix is not stripped
            "1381234567a",
            "",
            None,
        ],
    )
    def test_it_rejects_anything_but_eleven_digits_from_13_to_19(self, raw):
        assert message_of(v.normalize_mobile, raw) == str(v.MOBILE_INVALID)

    def test_it_masks_the_middle_four_digits(self):
        assert v.mask_mobile("13812341234") == "138****1234"
        assert v.mask_mobile("123") == "****"


class IdNumberTests:
    def test_it_computes_the_check_character_of_known_numbers(self):
        # 1 1 0 1 0 5 1 9 4 9 1 2 3 1 0 0 2 x weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2:
        # 7+9+0+5+0+20+2+9+24+27+7+18+30+5+0+0+4 = 167; 167 % 11 = 2 -> "10X98765432"[2] = X
        assert v.id_number_check_char("11010519491231002") == "X"
        # 28+36+0+15+0+4+2+9+54+0+0+27+0+35+8+8+6 = 232; 232 % 11 = 1 -> "0"
        assert v.id_number_check_char("44030119900307123") == "0"
        # 7+9+0+5+0+4+2+9+54+0+0+9+0+5+8+8+6 = 126; 126 % 11 = 5 -> "7"
        assert v.id_number_check_char("11010119900101123") == "7"

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("11010519491231002X", "11010519491231002X"),
            ("11010519491231002x", "11010519491231002X"),
            ("110105 19491231 002X", "11010519491231002X"),
            ("440301-19900307-1230", "440301199003071230"),
            ("110101199001011237", "110101199001011237"),
            # leap day 2000-02-29: 21+9+0+5+8+20+4+0+0+0+0+18+20+45+0+0+2 = 152; 152 % 11 = 9 -> "3"
            ("310115200002290013", "310115200002290013"),
        ],
    )
    def test_it_accepts_valid_numbers_in_canonical_upper_case(self, raw, expected):
        assert v.normalize_id_number(raw, today=TODAY) == expected

    @pytest.mark.parametrize(
        "raw",
        ["", None, "11010519491231002", "11010519491231002XX", "11010519491231002Y", "1101051949A231002X"],
    )
    def test_it_rejects_the_wrong_length_or_characters(self, raw):
        assert message_of(v.normalize_id_number, raw, today=TODAY) == str(v.ID_LENGTH)

    @pytest.mark.parametrize("code", ["00", "10", "20", "99"])
    def test_it_rejects_an_unknown_province_code(self, code):
        message = message_of(v.normalize_id_number, code + "010519491231002X", today=TODAY)
        assert message == str(v.ID_REGION).format(code=code)

    @pytest.mark.parametrize("date", ["19490230", "19491301", "19490000", "19990229", "18991231"])
    def test_it_rejects_impossible_or_pre_1900_birth_dates(self, date):
        message = message_of(v.normalize_id_number, f"110105{date}0021", today=TODAY)
        assert message == str(v.ID_DATE).format(date=date)

    def test_it_rejects_a_birth_date_in_the_future(self):
        # 440301199003071230 is valid for someone born 1990-03-07
        assert v.normalize_id_number("440301199003071230", today=dt.date(1990, 3, 7)) == "440301199003071230"
        message = message_of(v.normalize_id_number, "440301199003071230", today=dt.date(1990, 3, 6))
        assert message == str(v.ID_DATE).format(date="19900307")

    def test_it_rejects_a_wrong_check_character_and_names_the_expected_one(self):
        message = message_of(v.normalize_id_number, "110105194912310021", today=TODAY)
        assert message == str(v.ID_CHECKSUM).format(expected="X", got="1")

    def test_it_masks_all_but_the_first_three_and_last_four(self):
        assert v.mask_id_number("11010519491231002X") == "110" + "*" * 11 + "002X"
        assert v.mask_id_number("1234567") == "****"


class PlateTests:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("沪A12345", "沪A12345"),
            ("京a·12345", "京A12345"),
            (" 京 A-1234x ", "京A1234X"),
            ("粤Z1234港", "粤Z1234港"),
            ("京A1234警", "京A1234警"),
            ("沪A·D12345", "沪AD12345"),  # small new-energy vehicle
            ("沪adf1234", "沪ADF1234"),
            ("粤b12345f", "粤B12345F"),  # large new-energy vehicle
        ],
    )
    def test_it_normalises_regular_and_new_energy_plates(self, raw, expected):
        assert v.normalize_plate(raw) == expected

    @pytest.mark.parametrize(
        "raw",
        [
            "沪AI2345",
            "沪AO2345",
            "沪I12345",
            "沪O12345",  # letters I and O are never used
            "XA12345",
            "A12345",
            "沪A1234",
            "沪A123456",
            "沪AA12345",  # 8 characters but not D/F
            "沪AD1234A",
            "粤B12345X",
            "粤B1234DF",
            "",
            None,
        ],
    )
    def test_it_rejects_malformed_plates(self, raw):
        assert message_of(v.normalize_plate, raw) == str(v.PLATE_INVALID)

    @pytest.mark.parametrize(
        ("plate", "nev"),
        [
            ("沪AD12345", True),
            ("沪AF1234", False),
            ("粤B12345F", True),
            ("粤B12345D", True),
            ("沪A12345", False),
            ("沪ADF1234", True),
        ],
    )
    def test_it_recognises_new_energy_plates(self, plate, nev):
        assert v.is_nev_plate(plate) is nev

    def test_it_masks_and_formats_plates(self):
        assert v.mask_plate("京A12345") == "京A·***45"
        assert v.mask_plate("沪AD12345") == "沪A·***45"
        assert v.mask_plate("京A12") == "***"
        assert v.format_plate("京A12345") == "京A·12345"
        assert v.format_plate("京") == "京"


class VinTests:
    def test_it_computes_the_classic_check_digit(self):
        # 1M8GDM9A?KP042788 -> values 1 4 8 7 4 4 9 1 _ 2 7 0 4 2 7 8 8, weights 8 7 6 5 4 3 2 10 0 9 8..2:
        # 8+28+48+35+16+12+18+10+0+18+56+0+24+10+28+24+16 = 351; 351 % 11 = 10 -> X
        assert v.vin_check_digit("1M8GDM9AXKP042788") == "X"
        # L F V 2 A 2 1 K _ A 3 0... -> 24+42+30+10+4+6+2+20+0+9+24 = 171; 171 % 11 = 6
        assert v.vin_check_digit("LFV2A21K0A3000000") == "6"

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("1M8GDM9AXKP042788", "1M8GDM9AXKP042788"),
            (" 1m8gdm9a-xkp042788 ", "1M8GDM9AXKP042788"),
            ("LFV2A21K6A3000000", "LFV2A21K6A3000000"),
            ("WVWZZZ1JZXW000001", "WVWZZZ1JZXW000001"),  # Europe: position 9 is not a check digit
            ("JHMZZZ1JZXW000001", "JHMZZZ1JZXW000001"),  # Japan: likewise not enforced
        ],
    )
    def test_it_accepts_valid_vins_in_upper_case(self, raw, expected):
        assert v.normalize_vin(raw) == expected

    @pytest.mark.parametrize("raw", ["", None, "1M8GDM9AXKP04278", "1M8GDM9AXKP0427888"])
    def test_it_rejects_the_wrong_length(self, raw):
        assert message_of(v.normalize_vin, raw) == str(v.VIN_LENGTH)

    @pytest.mark.parametrize(
        "raw", ["WVWZZZ1JZXW00000I", "WVWZZZ1JZXW00000O", "WVWZZZ1JZXW0000Q1", "wvwzzz1jzxw0000o1"]
    )
    def test_it_rejects_the_letters_i_o_and_q(self, raw):
        assert message_of(v.normalize_vin, raw) == str(v.VIN_LETTERS)

    def test_it_rejects_punctuation_inside_a_vin(self):
        assert message_of(v.normalize_vin, "WVWZZZ1JZXW00000_") == str(v.VIN_LENGTH)

    @pytest.mark.parametrize(
        ("raw", "expected", "got"),
        [
            ("1M8GDM9A1KP042788", "X", "1"),
            ("LFV2A21K0A3000000", "6", "0"),  # China (GB 16735) enforces the check digit too
        ],
    )
    def test_it_rejects_a_wrong_check_digit_in_checked_regions(self, raw, expected, got):
        assert message_of(v.normalize_vin, raw) == str(v.VIN_CHECK).format(expected=expected, got=got)


class MaskAddressTests:
    def test_it_keeps_about_the_district_and_hides_the_rest(self):
        # 21 characters -> keep min(6, 21 // 3) = 6; 15 characters -> keep 15 // 3 = 5
        assert v.mask_address("上海市浦东新区世纪大道100号1号楼802") == "上海市浦东新****"
        assert v.mask_address("上海市浦东新区世纪大道100号") == "上海市浦东****"

    def test_it_hides_short_addresses_entirely_and_leaves_empty_ones_empty(self):
        assert v.mask_address("北京") == "****"
        assert v.mask_address("") == ""


# --- properties ---------------------------------------------------------------------------------------
ID_CHARS = "0123456789X"
VIN_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
id_prefixes = st.builds(
    lambda province, area, born, seq: f"{province}{area}{born:%Y%m%d}{seq}",
    st.sampled_from(sorted(v._PROVINCE_CODES)),
    st.text("0123456789", min_size=4, max_size=4),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY),
    st.text("0123456789", min_size=3, max_size=3),
)


@given(prefix=id_prefixes, other=st.sampled_from(ID_CHARS))
def test_an_id_number_is_accepted_only_with_its_computed_check_character(prefix, other):
    check = v.id_number_check_char(prefix)
    assert v.normalize_id_number(prefix + check, today=TODAY) == prefix + check
    if other != check:
        with pytest.raises(ValidationError) as info:
            v.normalize_id_number(prefix + other, today=TODAY)
        assert info.value.code == "invalid_id_checksum"


@given(body=st.text(VIN_ALPHABET, min_size=15, max_size=15), other=st.sampled_from(ID_CHARS))
def test_a_chinese_vin_is_accepted_only_with_its_computed_check_digit(body, other):
    # position 9 has weight 0, so the placeholder does not change the sum
    check = v.vin_check_digit(f"L{body[:7]}0{body[7:]}")
    vin = f"L{body[:7]}{check}{body[7:]}"
    assert v.normalize_vin(vin) == vin
    if other != check:
        with pytest.raises(ValidationError) as info:
            v.normalize_vin(f"L{body[:7]}{other}{body[7:]}")
        assert info.value.code == "invalid_vin_check"


class FullWidthInputTests:
    """Digits typed with a Chinese input method are full-width; they must become one canonical ASCII form."""

    def test_it_turns_full_width_mobile_digits_into_ascii(self):
        assert v.normalize_mobile("13８１２３４５６７８") == "13812345678"

    def test_it_rejects_other_scripts_digits(self):
        with pytest.raises(ValidationError):
            v.normalize_mobile("13٨١٢٣٤٥٦٧٨")

    def test_it_turns_a_full_width_id_number_into_ascii(self):
        assert (
            v.normalize_id_number("11０１０５１９４９１２３１００２Ｘ", today=dt.date(2026, 1, 1))
            == "11010519491231002X"
        )
